// The workspace's Alipay mini-programs (a merchant's own): their authorization and latest audit, and each one's base
// info read from Alipay and changed within Alipay's rules.
import { useEffect, useState } from "react";
import { Button, Card, Drawer, Form, Input, Space, Table, Tabs, Tag } from "antd";
import { api, call, type Row } from "../api/client";
import { useT } from "../i18n";
import { Act, ErrorBox, time, useLoad, usePages } from "../ui/kit";
import { StateTag } from "../ui/states";
import { go, useRoute } from "../route";
import { ReleaseTab } from "./MiniProgram";

function BaseInfo({ miniAppId }: { miniAppId: string }) {
  const t = useT();
  const info = useLoad(() => call(api.GET("/alipay/baseinfo", { params: { query: { miniAppId } } })), [miniAppId]);
  const [form] = Form.useForm();
  const a = (info.data?.alipay ?? {}) as Row;
  useEffect(() => {
    form.setFieldsValue({ appName: a.app_name, appSlogan: a.app_slogan, appDesc: a.app_desc, servicePhone: a.service_phone, serviceEmail: a.service_email });
  }, [form, a.app_name, a.app_slogan, a.app_desc, a.service_phone, a.service_email]);
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <ErrorBox error={info.error} />
      <Form form={form} layout="vertical">
        <Form.Item name="appName" label={t("Name")}>
          <Input data-testid="alipay-name" />
        </Form.Item>
        <Form.Item name="appSlogan" label={t("Slogan")}>
          <Input />
        </Form.Item>
        <Form.Item name="appDesc" label={t("Description")}>
          <Input.TextArea rows={3} />
        </Form.Item>
        <Form.Item name="servicePhone" label={t("Service phone")}>
          <Input />
        </Form.Item>
        <Form.Item name="serviceEmail" label={t("Service e-mail")}>
          <Input />
        </Form.Item>
        <Act
          type="primary"
          data-testid="alipay-save"
          run={() => {
            // Only what changed is sent: Alipay checks every field it is given.
            const v = form.getFieldsValue() as Record<string, string>;
            const was: Record<string, string> = { appName: a.app_name, appSlogan: a.app_slogan, appDesc: a.app_desc, servicePhone: a.service_phone, serviceEmail: a.service_email };
            const changed = Object.fromEntries(Object.entries(v).filter(([k, x]) => x && x !== was[k]));
            return call(api.POST("/alipay/baseinfo/modify", { body: { miniAppId, ...changed } }));
          }}
          done={(out) => info.setData(out as typeof info.data)}
        >
          {t("Save")}
        </Act>
      </Form>
    </Space>
  );
}

export function AlipayMiniPrograms() {
  const t = useT();
  const { cursor, pager } = usePages();
  const list = useLoad(() => call(api.GET("/alipay/miniprogram/list", { params: { query: { cursor, limit: 50 } } })), [cursor]);
  const { query } = useRoute();
  // `?alipay=ID` (from a link elsewhere in the console) opens that mini-program's drawer.
  const [open, setOpen] = useState<string | null>(query.get("alipay"));
  return (
    <Card title={t("Alipay mini-programs")} extra={<Button onClick={list.reload}>{t("Refresh")}</Button>}>
      <ErrorBox error={list.error} />
      <Table<Row>
        rowKey="miniAppId"
        size="middle"
        loading={list.loading}
        dataSource={(list.data?.items ?? []) as Row[]}
        pagination={false}
        scroll={{ x: 900 }}
        data-testid="alipay-table"
        columns={[
          { title: t("Alipay mini-program"), dataIndex: "miniAppId" },
          { title: t("Merchant"), dataIndex: "merchant" },
          { title: t("Status"), dataIndex: "status", render: (v) => <Tag color={v === "authorized" ? "green" : "red"}>{t(v)}</Tag> },
          {
            title: t("Latest audit"),
            render: (_, r) => (r.lastAuditVersion ? `${r.lastAuditVersion} · ${r.lastAuditPassed ? t("Passed") : `${t("Rejected")} ${r.lastAuditReason ?? ""}`}` : "—"),
          },
          { title: t("Release state"), dataIndex: "releaseState", render: (v) => <StateTag state={v} /> },
          { title: t("Online version"), dataIndex: "onlineVersion", render: (v) => v ?? "—" },
          { title: t("Authorized at"), dataIndex: "authorizedAt", render: (v) => time(v) },
          {
            title: t("Actions"),
            render: (_, r) =>
              r.status === "authorized" ? (
                <Space>
                  <Button size="small" data-testid={`alipay-open-${r.miniAppId}`} onClick={() => setOpen(r.miniAppId)}>
                    {t("Basic info")}
                  </Button>
                  {r.merchant && (
                    <Button size="small" data-testid={`alipay-decorate-${r.miniAppId}`} onClick={() => go("/decorate", { maAppId: r.miniAppId, templateId: r.templateId ?? undefined })}>
                      {t("Decorate")}
                    </Button>
                  )}
                </Space>
              ) : null,
          },
        ]}
      />
      {pager(list.data?.nextCursor)}
      <Drawer open={!!open} width={Math.min(720, window.innerWidth)} title={open} onClose={() => setOpen(null)} destroyOnHidden>
        {open && (
          <Tabs
            items={[
              { key: "basic", label: t("Basic info"), children: <BaseInfo miniAppId={open} /> },
              { key: "release", label: <span data-testid="alipay-release-tab">{t("Release")}</span>, children: <ReleaseTab appid={open} /> },
            ]}
          />
        )}
      </Drawer>
    </Card>
  );
}
