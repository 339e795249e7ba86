// What WeChat pushed (newest first, credentials redacted), the component's event feed, and the rules that forward
// pushes to the provider's own services with each delivery's outcome.
import { useState } from "react";
import { App, Button, Card, Drawer, Form, Input, Space, Table, Tag, Typography } from "antd";
import { api, call, type Row } from "../api/client";
import { useT } from "../i18n";
import { session } from "../session";
import { Act, ErrorBox, time, useLoad, usePages } from "../ui/kit";

function Forwarding() {
  const t = useT();
  const { modal } = App.useApp();
  const rules = useLoad(() => call(api.GET("/forward/rule/list")), []);
  const [deliveriesOf, setDeliveriesOf] = useState<string | null>(null);
  const [form] = Form.useForm();
  return (
    <Card title={t("Forwarding rules")} size="small">
      <ErrorBox error={rules.error} />
      <Form form={form} layout="inline" style={{ marginBottom: 12 }}>
        <Form.Item name="name" rules={[{ required: true }]}>
          <Input placeholder={t("Name")} />
        </Form.Item>
        <Form.Item name="url" rules={[{ required: true }]}>
          <Input placeholder="https://hooks.example.com/wechat" style={{ width: 300 }} />
        </Form.Item>
        <Act
          run={async () => call(api.POST("/forward/rule/create", { body: await form.validateFields() }))}
          done={(out) => {
            modal.success({ title: t("Shown once: copy it now"), content: <Typography.Text copyable>{(out as Row).secret}</Typography.Text> });
            void rules.reload();
          }}
        >
          {t("Create")}
        </Act>
      </Form>
      <Table<Row>
        rowKey="id"
        size="small"
        dataSource={(rules.data?.rules ?? []) as Row[]}
        pagination={false}
        columns={[
          { title: t("Name"), dataIndex: "name" },
          { title: t("URL"), dataIndex: "url" },
          {
            title: t("Actions"),
            render: (_, r) => (
              <Space>
                <Button size="small" onClick={() => setDeliveriesOf(r.id)}>{t("Detail")}</Button>
                <Act size="small" danger run={() => call(api.POST("/forward/rule/delete", { body: { id: r.id } }))} done={rules.reload}>
                  {t("Delete")}
                </Act>
              </Space>
            ),
          },
        ]}
      />
      <Drawer open={!!deliveriesOf} width={640} onClose={() => setDeliveriesOf(null)} title={deliveriesOf}>
        {deliveriesOf && <Deliveries ruleId={deliveriesOf} />}
      </Drawer>
    </Card>
  );
}

function Deliveries({ ruleId }: { ruleId: string }) {
  const list = useLoad(() => call(api.GET("/forward/deliveries", { params: { query: { ruleId } } })), [ruleId]);
  return (
    <>
      <ErrorBox error={list.error} />
      <pre style={{ fontSize: 12 }}>{JSON.stringify(list.data, null, 2)}</pre>
    </>
  );
}

function EventFeed() {
  const t = useT();
  const [appid, setAppid] = useState("");
  const { cursor, reset, pager } = usePages();
  const feed = useLoad(
    () => call(api.GET("/event/feed", { params: { query: { maAppId: appid || undefined, cursor, limit: 50 } } })),
    [appid, cursor],
  );
  return (
    <Card title={t("Events")} size="small" extra={<Button onClick={feed.reload}>{t("Refresh")}</Button>}>
      <Input.Search placeholder="maAppId" allowClear onSearch={(v) => { reset(); setAppid(v); }} style={{ width: 240, marginBottom: 12 }} />
      <ErrorBox error={feed.error} />
      <Table<Row>
        rowKey={(r) => r.detail.eventId}
        size="small"
        data-testid="events"
        dataSource={(feed.data?.items ?? []) as Row[]}
        pagination={false}
        scroll={{ x: 800 }}
        columns={[
          { title: t("Time"), render: (_, r) => time(r.detail.occurredAt) },
          { title: t("Type"), dataIndex: "type", render: (v) => <Tag>{v}</Tag> },
          { title: "appid", render: (_, r) => r.detail.maAppId },
          { title: "data", render: (_, r) => <Typography.Text type="secondary" style={{ fontSize: 12 }}>{JSON.stringify(r.detail.data)}</Typography.Text> },
        ]}
      />
      {pager(feed.data?.nextCursor)}
    </Card>
  );
}

export function RecordsPage() {
  const t = useT();
  const role = session.get()!.role;
  const [type, setType] = useState("");
  const [appid, setAppid] = useState("");
  const { cursor, reset, pager } = usePages();
  const records = useLoad(
    () => call(api.GET("/callback/records", { params: { query: { type: type || undefined, appid: appid || undefined, cursor, limit: 50 } } })),
    [type, appid, cursor],
  );
  return (
    <Space direction="vertical" style={{ width: "100%" }} size="large">
      <Card title={t("Message records")} extra={<Button onClick={records.reload}>{t("Refresh")}</Button>}>
        <Space wrap style={{ marginBottom: 12 }}>
          <Input.Search placeholder={t("Type")} allowClear onSearch={(v) => { reset(); setType(v); }} style={{ width: 240 }} />
          <Input.Search placeholder="appid" allowClear onSearch={(v) => { reset(); setAppid(v); }} style={{ width: 220 }} />
        </Space>
        <ErrorBox error={records.error} />
        <Table<Row>
          rowKey={(r) => `${r.pushType}-${r.createTime}-${r.authorizerAppid}-${r.firstReceivedAt}`}
          size="small"
          data-testid="records"
          dataSource={(records.data?.items ?? []) as Row[]}
          pagination={false}
          scroll={{ x: 900 }}
          expandable={{ expandedRowRender: (r) => <pre style={{ fontSize: 12, whiteSpace: "pre-wrap" }}>{r.body}</pre> }}
          columns={[
            { title: t("Type"), dataIndex: "pushType" },
            { title: "appid", dataIndex: "authorizerAppid" },
            { title: t("State"), dataIndex: "outcome", render: (v) => <Tag>{v}</Tag> },
            { title: "deliveries", dataIndex: "deliveries" },
            { title: t("Time"), dataIndex: "lastReceivedAt", render: (v) => time(v) },
          ]}
        />
        {pager(records.data?.nextCursor)}
      </Card>
      <EventFeed />
      {(role === "admin" || role === "operator") && <Forwarding />}
    </Space>
  );
}
