// One mini-program: where its code stands and every code action, then its testers, domains, privacy guide, basic
// info, categories, codes, jump rules, violations and history, each in a tab.
import { useState } from "react";
import { Button, Card, Descriptions, Empty, Form, Image, Input, InputNumber, Space, Table, Tabs, Tag, Timeline, Typography } from "antd";
import { api, call, type Row } from "../api/client";
import { useT } from "../i18n";
import { session } from "../session";
import { Act, ErrorBox, time, useLoad } from "../ui/kit";
import { StateTag } from "../ui/states";
import { go } from "../route";
import { BasicInfoTab, CategoriesTab, DomainsTab, JumpRulesTab, ViolationsTab } from "./MiniProgramTabs";

function Raw({ value }: { value: unknown }) {
  return (
    <pre style={{ background: "#fafafa", padding: 12, overflow: "auto", maxHeight: 320, fontSize: 12 }}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

/** Where the code stands and every code action: the same routes for a WeChat and an Alipay mini-program. */
export function ReleaseTab({ appid }: { appid: string }) {
  const t = useT();
  const versions = useLoad(() => call(api.GET("/code/versions", { params: { query: { maAppId: appid } } })), [appid]);
  const qr = useLoad(() => call(api.GET("/code/qrcode", { params: { query: { maAppId: appid } } })), [appid]);
  const gray = useLoad(() => call(api.GET("/code/gray", { params: { query: { maAppId: appid } } })), [appid]);
  const [userVersion, setUserVersion] = useState("1.0.0");
  const [userDesc, setUserDesc] = useState("");
  const [percentage, setPercentage] = useState<number>(10);
  const refresh = () => {
    void versions.reload();
    void qr.reload();
    void gray.reload();
  };
  const v = versions.data as Row | null;
  const body = { maAppId: appid };
  return (
    <Space direction="vertical" style={{ width: "100%" }} size="large">
      <ErrorBox error={versions.error} />
      <Descriptions bordered size="small" column={{ xs: 1, md: 2 }}>
        <Descriptions.Item label={t("Release state")}>
          <span data-testid="release-state">
            <StateTag state={v?.state} />
          </span>
        </Descriptions.Item>
        {/* WeChat names them exp_version and release_version, Alipay app_version. */}
        <Descriptions.Item label={t("Trial version")}>{v?.trial?.exp_version ?? v?.trial?.app_version ?? "—"}</Descriptions.Item>
        <Descriptions.Item label={t("Online version")}>{v?.online?.release_version ?? v?.online?.app_version ?? "—"}</Descriptions.Item>
        <Descriptions.Item label={t("Gray release")}>{gray.data?.percentage ? `${gray.data.percentage}%` : "—"}</Descriptions.Item>
        <Descriptions.Item label={t("Trial QR code")}>
          {qr.data?.qrCodeUrl ? <Image width={120} src={qr.data.qrCodeUrl} data-testid="trial-qr" /> : "—"}
        </Descriptions.Item>
      </Descriptions>
      <Card size="small" title={t("Release (commit, trial QR code, audit)")}>
        <Space wrap>
          <Input addonBefore={t("User version")} value={userVersion} onChange={(e) => setUserVersion(e.target.value)} style={{ width: 220 }} />
          <Input placeholder={t("Description")} value={userDesc} onChange={(e) => setUserDesc(e.target.value)} style={{ width: 220 }} />
          <Act type="primary" data-testid="act-release" run={() => call(api.POST("/code/release", { body: { ...body, userVersion, userDesc: userDesc || undefined } }))} done={refresh}>
            {t("Release")}
          </Act>
        </Space>
      </Card>
      <Space wrap>
        <Act run={() => call(api.POST("/code/audit/undo", { body }))} done={refresh}>{t("Undo audit")}</Act>
        <Act run={() => call(api.POST("/code/audit/speedup", { body }))} done={refresh}>{t("Speed up audit")}</Act>
        <Act type="primary" data-testid="act-publish" run={() => call(api.POST("/code/publish", { body }))} done={refresh}>
          {t("Publish")}
        </Act>
        <Space.Compact>
          <InputNumber min={1} max={100} value={percentage} onChange={(n) => setPercentage(n ?? 1)} addonAfter="%" style={{ width: 110 }} />
          <Act run={() => call(api.POST("/code/gray", { body: { ...body, percentage } }))} done={refresh}>{t("Gray release")}</Act>
        </Space.Compact>
        <Act run={() => call(api.POST("/code/gray/revert", { body }))} done={refresh}>{t("Revert gray")}</Act>
        <Act danger run={() => call(api.POST("/code/rollback", { body }))} done={refresh}>{t("Rollback")}</Act>
        <Act run={() => call(api.POST("/code/visit-status", { body: { ...body, action: "close" } }))} done={refresh}>{t("Close visits")}</Act>
        <Act run={() => call(api.POST("/code/visit-status", { body: { ...body, action: "open" } }))} done={refresh}>{t("Open visits")}</Act>
        <Button onClick={refresh} data-testid="refresh-release">{t("Refresh")}</Button>
      </Space>
      <Card size="small" title={t("History")}>
        {v?.history?.length ? (
          <Timeline
            items={(v.history as Row[]).map((h) => ({
              children: (
                <span>
                  <Typography.Text strong>{h.kind}</Typography.Text> · {time(h.occurredAt)}{" "}
                  <Typography.Text type="secondary">{h.data ? JSON.stringify(h.data) : ""}</Typography.Text>
                </span>
              ),
            }))}
          />
        ) : (
          <Empty />
        )}
      </Card>
    </Space>
  );
}

/** What a real account still lacks before an audit (category, privacy contact) and before going online (ICP filing). */
function ReadinessCard({ appid }: { appid: string }) {
  const t = useT();
  const ready = useLoad(() => call(api.GET("/miniprogram/readiness", { params: { query: { maAppId: appid } } })), [appid]);
  const r = ready.data;
  const mark = (ok: boolean | undefined, yes: string, no: string) =>
    ok === undefined ? "—" : ok ? <Tag color="green">{t(yes)}</Tag> : <Tag color="red">{t(no)}</Tag>;
  return (
    <Card size="small" title={t("Readiness")} extra={<Button size="small" onClick={ready.reload}>{t("Check again")}</Button>}>
      <ErrorBox error={ready.error} />
      <Descriptions size="small" column={{ xs: 1, md: 3 }} data-testid="readiness">
        <Descriptions.Item label={t("Categories")}>{mark(r ? r.categories > 0 : undefined, String(r?.categories ?? ""), "None")}</Descriptions.Item>
        <Descriptions.Item label={t("Privacy contact")}>{mark(r?.privacyContact, "Set", "Missing")}</Descriptions.Item>
        <Descriptions.Item label={t("ICP filing")}>{mark(r?.icpFiled, "Filed", "Not filed")}</Descriptions.Item>
      </Descriptions>
    </Card>
  );
}

function QuotaCard({ appid }: { appid: string }) {
  const t = useT();
  const quota = useLoad(() => call(api.GET("/code/audit/quota", { params: { query: { maAppId: appid } } })), [appid]);
  const q = quota.data as Row | null;
  return (
    <Card size="small" title={t("Audit quota")}>
      <ErrorBox error={quota.error} />
      {q && (
        <span data-testid="quota">
          {q.rest} / {q.limit} · speed-up {q.speedup_rest} / {q.speedup_limit}
        </span>
      )}
    </Card>
  );
}

function TestersTab({ appid }: { appid: string }) {
  const t = useT();
  const list = useLoad(() => call(api.GET("/tester/list", { params: { query: { maAppId: appid } } })), [appid]);
  const [wechatId, setWechatId] = useState("");
  const rows = (list.data?.testers ?? []) as Row[];
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <Space>
        <Input placeholder={t("WeChat id")} value={wechatId} onChange={(e) => setWechatId(e.target.value)} />
        <Act type="primary" run={() => call(api.POST("/tester/bind", { body: { maAppId: appid, wechatId } }))} done={list.reload}>
          {t("Bind tester")}
        </Act>
      </Space>
      <ErrorBox error={list.error} />
      <Table<Row>
        rowKey="userstr"
        size="small"
        dataSource={rows}
        pagination={false}
        columns={[
          { title: t("WeChat id"), dataIndex: "wechatId" },
          { title: "userstr", dataIndex: "userstr" },
          {
            title: t("Actions"),
            render: (_, r) => (
              <Act size="small" run={() => call(api.POST("/tester/unbind", { body: { maAppId: appid, userstr: r.userstr } }))} done={list.reload}>
                {t("Unbind")}
              </Act>
            ),
          },
        ]}
      />
    </Space>
  );
}

function PrivacyTab({ appid }: { appid: string }) {
  const t = useT();
  const privacy = useLoad(() => call(api.GET("/miniprogram/privacy", { params: { query: { maAppId: appid } } })), [appid]);
  const [form] = Form.useForm();
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <ErrorBox error={privacy.error} />
      <Form form={form} layout="inline" initialValues={{ noticeMethod: "弹窗" }}>
        <Form.Item name="contactEmail" label={t("Contact e-mail")}>
          <Input data-testid="privacy-email" />
        </Form.Item>
        <Form.Item name="noticeMethod" label={t("Notice method")}>
          <Input />
        </Form.Item>
        <Act
          type="primary"
          data-testid="privacy-save"
          run={() => call(api.POST("/miniprogram/privacy", { body: { maAppId: appid, ownerSetting: form.getFieldsValue() } }))}
          done={privacy.reload}
        >
          {t("Save")}
        </Act>
      </Form>
      {privacy.data ? <Raw value={privacy.data} /> : null}
    </Space>
  );
}

function CodeTab({ appid }: { appid: string }) {
  const t = useT();
  const [scene, setScene] = useState("table=1");
  const [url, setUrl] = useState<string | null>(null);
  return (
    <Space direction="vertical">
      <Space>
        <Input addonBefore="scene" value={scene} onChange={(e) => setScene(e.target.value)} />
        <Act
          run={() => call(api.POST("/wxacode", { body: { maAppId: appid, scene, checkPath: false } }))}
          done={(out) => setUrl((out as Row).url ?? (out as Row).codeUrl ?? null)}
        >
          {t("Mini-program code")}
        </Act>
      </Space>
      {url && <Image width={160} src={url} />}
    </Space>
  );
}

export function MiniProgramPage({ appid }: { appid: string }) {
  const t = useT();
  const merchant = session.get()?.role === "merchant";
  return (
    <Card
      title={
        <Space>
          <Button size="small" onClick={() => go("/miniprograms")}>←</Button>
          <span data-testid="mp-title">{appid}</span>
        </Space>
      }
      extra={
        <Space>
          {merchant && (
            <>
              <Act size="small" run={() => call(api.POST("/hosting/start", { body: { maAppId: appid } }))}>{t("Start hosting")}</Act>
              <Act size="small" run={() => call(api.POST("/hosting/end", { body: { maAppId: appid } }))}>{t("End hosting")}</Act>
            </>
          )}
          <Button size="small" onClick={() => go("/decorate", { maAppId: appid })}>{t("Decorate")}</Button>
        </Space>
      }
    >
      <Tabs
        destroyOnHidden
        items={[
          { key: "release", label: t("Release"), children: (<Space direction="vertical" style={{ width: "100%" }}><ReadinessCard appid={appid} /><ReleaseTab appid={appid} /><QuotaCard appid={appid} /></Space>) },
          { key: "testers", label: t("Testers"), children: <TestersTab appid={appid} /> },
          { key: "domains", label: t("Domains"), children: <DomainsTab appid={appid} /> },
          { key: "privacy", label: t("Privacy guide"), children: <PrivacyTab appid={appid} /> },
          { key: "basic", label: t("Basic info"), children: <BasicInfoTab appid={appid} /> },
          { key: "categories", label: t("Categories"), children: <CategoriesTab appid={appid} /> },
          { key: "codes", label: t("Mini-program code"), children: <CodeTab appid={appid} /> },
          { key: "jumps", label: t("Jump rules"), children: <JumpRulesTab appid={appid} /> },
          { key: "violations", label: t("Violations"), children: <ViolationsTab appid={appid} /> },
        ]}
      />
    </Card>
  );
}
