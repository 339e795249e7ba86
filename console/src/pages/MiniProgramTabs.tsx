// The mini-program page's tabs past the release: categories, server and web-view domains, basic info (name,
// signature, avatar), ordinary-QR jump rules and violations — each read from the API and changed through it.
import { useState } from "react";
import { Card, Cascader, Descriptions, Form, Image, Input, Select, Space, Table, Tag, Typography } from "antd";
import { api, call, type Row } from "../api/client";
import { useT } from "../i18n";
import { Act, ErrorBox, ImageUpload, time, useLoad } from "../ui/kit";

export function CategoriesTab({ appid }: { appid: string }) {
  const t = useT();
  const q = { params: { query: { maAppId: appid } } };
  const mine = useLoad(() => call(api.GET("/category/list", q)), [appid]);
  const all = useLoad(() => call(api.GET("/category/all", q)), [appid]);
  const [picked, setPicked] = useState<number[]>([]);
  const m = mine.data as Row | null;
  const options = (((all.data as Row | null)?.categories ?? []) as Row[]).map((c) => ({
    value: c.id,
    label: c.name,
    children: ((c.children ?? []) as Row[]).map((s) => ({ value: s.id, label: `${s.name}${s.needsQualification ? " *" : ""}` })),
  }));
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <ErrorBox error={mine.error ?? all.error} />
      <Space wrap>
        <Cascader options={options} value={picked} onChange={(v) => setPicked((v ?? []) as number[])} placeholder={t("Categories")} style={{ width: 320 }} />
        <Act
          type="primary"
          disabled={picked.length !== 2}
          run={() => call(api.POST("/category/add", { body: { maAppId: appid, categories: [{ first: picked[0], second: picked[1] }] } }))}
          done={mine.reload}
        >
          {t("Create")}
        </Act>
        {m && (
          <Typography.Text type="secondary">
            {t("Changes left this month")}: {String(m.changesLeftThisMonth ?? "—")}
          </Typography.Text>
        )}
      </Space>
      <Table<Row>
        rowKey={(r) => `${r.first}-${r.second}`}
        size="small"
        pagination={false}
        dataSource={(m?.categories ?? []) as Row[]}
        columns={[
          { title: t("Categories"), render: (_, r) => `${r.firstName ?? r.first} / ${r.secondName ?? r.second}` },
          { title: t("State"), dataIndex: "state", render: (v) => <Tag color={v === "approved" ? "green" : v === "rejected" ? "red" : "gold"}>{v}</Tag> },
          { title: t("Reason"), dataIndex: "reason" },
          {
            title: t("Actions"),
            render: (_, r) => (
              <Act size="small" danger run={() => call(api.POST("/category/delete", { body: { maAppId: appid, first: r.first, second: r.second } }))} done={mine.reload}>
                {t("Delete")}
              </Act>
            ),
          },
        ]}
      />
    </Space>
  );
}

const LISTS = ["requestdomain", "wsrequestdomain", "uploaddomain", "downloaddomain"] as const;

export function DomainsTab({ appid }: { appid: string }) {
  const t = useT();
  const server = useLoad(() => call(api.POST("/domain/server", { body: { maAppId: appid, action: "get" } })), [appid]);
  const webview = useLoad(() => call(api.POST("/domain/webview", { body: { maAppId: appid, action: "get" } })), [appid]);
  const [form] = Form.useForm();
  const [web, setWeb] = useState("");
  const current = server.data as Row | null;
  const lines = (v?: string) => (v ?? "").split(/\s+/).filter(Boolean);
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <ErrorBox error={server.error ?? webview.error} />
      <Card size="small" title={t("Domains")}>
        <Descriptions size="small" column={1} bordered>
          {LISTS.map((k) => (
            <Descriptions.Item key={k} label={k}>
              {((current?.[k] ?? []) as string[]).map((d) => <Tag key={d}>{d}</Tag>)}
            </Descriptions.Item>
          ))}
        </Descriptions>
        <Form form={form} layout="vertical" style={{ marginTop: 12 }}>
          <Space wrap align="start">
            {LISTS.map((k) => (
              <Form.Item key={k} name={k} label={k}>
                <Input.TextArea rows={2} placeholder="https://api.shop.example.com" style={{ width: 260 }} />
              </Form.Item>
            ))}
          </Space>
          <Space>
            {(["add", "delete", "set"] as const).map((action) => (
              <Act
                key={action}
                run={() => {
                  const v = form.getFieldsValue();
                  const [requestdomain, wsrequestdomain, uploaddomain, downloaddomain] = LISTS.map((k) => lines(v[k]));
                  const body = { maAppId: appid, action, requestdomain, wsrequestdomain, uploaddomain, downloaddomain };
                  return call(api.POST("/domain/server", { body }));
                }}
                done={server.reload}
              >
                {action}
              </Act>
            ))}
          </Space>
        </Form>
      </Card>
      <Card size="small" title="webviewdomain">
        <Space direction="vertical" style={{ width: "100%" }}>
          <div>{(((webview.data as Row | null)?.webviewdomain ?? []) as string[]).map((d) => <Tag key={d}>{d}</Tag>)}</div>
          <Space>
            <Input value={web} onChange={(e) => setWeb(e.target.value)} placeholder="https://www.shop.example.com" style={{ width: 300 }} />
            {(["add", "delete", "set"] as const).map((action) => (
              <Act key={action} run={() => call(api.POST("/domain/webview", { body: { maAppId: appid, action, webviewdomain: lines(web) } }))} done={webview.reload}>
                {action}
              </Act>
            ))}
          </Space>
        </Space>
      </Card>
    </Space>
  );
}

export function BasicInfoTab({ appid }: { appid: string }) {
  const t = useT();
  const info = useLoad(() => call(api.GET("/basicinfo", { params: { query: { maAppId: appid } } })), [appid]);
  const [signature, setSignature] = useState("");
  const [nickname, setNickname] = useState("");
  const b = info.data as Row | null;
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <ErrorBox error={info.error} />
      {b && (
        <Descriptions size="small" bordered column={{ xs: 1, md: 2 }}>
          <Descriptions.Item label={t("Name")}>{String(b.nickname ?? "")}</Descriptions.Item>
          <Descriptions.Item label={t("Signature")}>{String(b.signature ?? "")}</Descriptions.Item>
          <Descriptions.Item label={t("Avatar")}>{b.headImageUrl ? <Image width={48} src={String(b.headImageUrl)} /> : "—"}</Descriptions.Item>
          <Descriptions.Item label={t("Principal")}>{String(b.principalName ?? "")}</Descriptions.Item>
          <Descriptions.Item label={t("Name change")}>{b.nameChange ? JSON.stringify(b.nameChange) : "—"}</Descriptions.Item>
        </Descriptions>
      )}
      <Space wrap>
        <Input placeholder={t("Name")} value={nickname} onChange={(e) => setNickname(e.target.value)} style={{ width: 220 }} />
        <Act run={() => call(api.POST("/basicinfo/nickname", { body: { maAppId: appid, nickname } }))} done={info.reload}>
          {t("Change name")}
        </Act>
      </Space>
      <Space wrap>
        <Input placeholder={t("Signature")} value={signature} onChange={(e) => setSignature(e.target.value)} style={{ width: 320 }} />
        <Act run={() => call(api.POST("/basicinfo/signature", { body: { maAppId: appid, signature } }))} done={info.reload}>
          {t("Save")}
        </Act>
      </Space>
      <ImageUpload
        label={t("Upload avatar")}
        presign={(contentType, size) => call(api.POST("/basicinfo/avatar/upload-url", { body: { maAppId: appid, contentType, size } }))}
        finish={(key) => call(api.POST("/basicinfo/avatar", { body: { maAppId: appid, key } }))}
        done={info.reload}
      />
    </Space>
  );
}

export function JumpRulesTab({ appid }: { appid: string }) {
  const t = useT();
  const q = { params: { query: { maAppId: appid } } };
  const rules = useLoad(() => call(api.GET("/qrcodejump/list", q)), [appid]);
  const file = useLoad(() => call(api.GET("/qrcodejump/verify-file", q)), [appid]);
  const [form] = Form.useForm();
  const r = rules.data as Row | null;
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <ErrorBox error={rules.error ?? file.error} />
      {file.data && (
        <Typography.Text type="secondary">
          {t("Verification file")}: <code>{(file.data as Row).fileName}</code> → <code>{(file.data as Row).fileContent}</code>
        </Typography.Text>
      )}
      <Form form={form} layout="inline" initialValues={{ openVersion: "release" }}>
        <Form.Item name="prefix" rules={[{ required: true }]}>
          <Input placeholder="https://shop.example.com/t/" style={{ width: 260 }} />
        </Form.Item>
        <Form.Item name="path" rules={[{ required: true }]}>
          <Input placeholder="pages/home/index" style={{ width: 200 }} />
        </Form.Item>
        <Form.Item name="openVersion">
          <Select style={{ width: 110 }} options={["release", "trial", "develop"].map((v) => ({ value: v, label: v }))} />
        </Form.Item>
        <Act run={async () => call(api.POST("/qrcodejump/add", { body: { maAppId: appid, ...(await form.validateFields()) } }))} done={rules.reload}>
          {t("Create")}
        </Act>
      </Form>
      <Typography.Text type="secondary">
        {t("Publishes left this month")}: {String(r?.publishesLeftThisMonth ?? "—")}
      </Typography.Text>
      <Table<Row>
        rowKey="prefix"
        size="small"
        pagination={false}
        dataSource={(r?.rules ?? []) as Row[]}
        columns={[
          { title: "prefix", dataIndex: "prefix" },
          { title: "path", dataIndex: "path" },
          { title: "openVersion", dataIndex: "openVersion" },
          { title: t("State"), dataIndex: "state", render: (v) => <Tag color={v === "published" ? "green" : "default"}>{v}</Tag> },
          {
            title: t("Actions"),
            render: (_, x) => (
              <Space>
                <Act size="small" run={() => call(api.POST("/qrcodejump/publish", { body: { maAppId: appid, prefix: x.prefix } }))} done={rules.reload}>
                  {t("Publish")}
                </Act>
                <Act size="small" danger run={() => call(api.POST("/qrcodejump/delete", { body: { maAppId: appid, prefix: x.prefix } }))} done={rules.reload}>
                  {t("Delete")}
                </Act>
              </Space>
            ),
          },
        ]}
      />
    </Space>
  );
}

export function ViolationsTab({ appid }: { appid: string }) {
  const t = useT();
  const list = useLoad(() => call(api.GET("/miniprogram/violations", { params: { query: { maAppId: appid } } })), [appid]);
  const v = list.data as Row | null;
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <ErrorBox error={list.error} />
      <Table<Row>
        rowKey="illegalRecordId"
        size="small"
        pagination={false}
        dataSource={(v?.illegalRecords ?? []) as Row[]}
        expandable={{ expandedRowRender: (r) => <Appeals appid={appid} recordId={r.illegalRecordId} /> }}
        columns={[
          { title: t("Time"), dataIndex: "createTime", render: (x) => time(x) },
          { title: t("Reason"), dataIndex: "illegalReason" },
          { title: t("Description"), dataIndex: "illegalContent" },
          { title: "rule", dataIndex: "ruleName", render: (x, r) => (r.ruleUrl ? <a href={r.ruleUrl} target="_blank" rel="noreferrer">{x}</a> : x) },
        ]}
      />
      <Table<Row>
        rowKey="punishId"
        size="small"
        pagination={false}
        dataSource={(v?.punishments ?? []) as Row[]}
        columns={[
          { title: t("Time"), dataIndex: "punishTime", render: (x) => time(x) },
          { title: t("Type"), dataIndex: "eventType", render: (x) => (x === 2 ? <Tag color="red">banned</Tag> : <Tag color="orange">warning</Tag>) },
          { title: t("Reason"), dataIndex: "illegalReason" },
        ]}
      />
    </Space>
  );
}

function Appeals({ appid, recordId }: { appid: string; recordId: string }) {
  const appeals = useLoad(
    () => call(api.GET("/miniprogram/appeals", { params: { query: { maAppId: appid, illegalRecordId: recordId } } })),
    [appid, recordId],
  );
  return (
    <>
      <ErrorBox error={appeals.error} />
      <pre style={{ fontSize: 12 }}>{JSON.stringify(appeals.data, null, 2)}</pre>
    </>
  );
}
