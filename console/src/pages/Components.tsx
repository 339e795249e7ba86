// The user's component(s): ticket age, token state and expiry, the platform's registered server domains; an admin
// registers another third-party platform app here.
import { useState } from "react";
import { Card, Checkbox, Descriptions, Form, Input, Space, Tag } from "antd";
import { api, call, type Row } from "../api/client";
import { useT } from "../i18n";
import { session } from "../session";
import { Act, ErrorBox, time, useLoad } from "../ui/kit";
import { MerchantLinks } from "./Authorize";

export function ComponentStatus() {
  const t = useT();
  const status = useLoad(() => call(api.GET("/component/status")), []);
  const s = status.data as Row | null;
  return (
    <Card title={`${t("Components")} ${s?.componentAppid ?? ""}`} size="small">
      <ErrorBox error={status.error} />
      {s && (
        <Descriptions size="small" bordered column={{ xs: 1, md: 2 }} data-testid="component-status">
          <Descriptions.Item label={t("Ticket age")}>{s.ticket ? `${s.ticket.ageSeconds} ${t("seconds")}` : "—"}</Descriptions.Item>
          <Descriptions.Item label={t("Ticket valid")}>{s.ticket?.valid ? <Tag color="green">{t("Yes")}</Tag> : <Tag color="red">{t("No")}</Tag>}</Descriptions.Item>
          <Descriptions.Item label={t("Component token")}>
            <Tag color={s.componentToken?.state === "valid" ? "green" : "orange"}>{s.componentToken?.state ?? "—"}</Tag>
          </Descriptions.Item>
          <Descriptions.Item label={t("Expires in")}>
            {s.componentToken ? `${s.componentToken.expiresInSeconds} ${t("seconds")} (${time(s.componentToken.expiresAt)})` : "—"}
          </Descriptions.Item>
        </Descriptions>
      )}
    </Card>
  );
}

/** The platform's server domains (testing, published, rejected), added to or taken off the platform. */
function Domains() {
  const t = useT();
  const domains = useLoad(() => call(api.POST("/component/domains", { body: { action: "get" } })), []);
  const [typed, setTyped] = useState("");
  const [publishedToo, setPublishedToo] = useState(false);
  const d = domains.data;
  const change = (action: "add" | "delete", list: string[]) =>
    call(api.POST("/component/domains", { body: { action, domains: list, publishedToo } }));
  const row = (label: string, list: string[] | undefined, color: string, removable: boolean) => (
    <Descriptions.Item label={t(label)}>
      <Space wrap size={[4, 4]}>
        {(list ?? []).length === 0
          ? "—"
          : (list ?? []).map((host) => (
              <Tag
                key={host}
                color={color}
                closable={removable}
                onClose={(e) => {
                  e.preventDefault();
                  void change("delete", [host]).then(domains.setData, () => void domains.reload());
                }}
              >
                {host}
              </Tag>
            ))}
      </Space>
    </Descriptions.Item>
  );
  return (
    <Card title={t("Registered domains")} size="small">
      <ErrorBox error={domains.error} />
      <Descriptions size="small" bordered column={1} data-testid="component-domains">
        {row("Testing", d?.testing, "blue", true)}
        {row("Live", d?.published, "green", true)}
        {row("Rejected", d?.invalid, "red", false)}
      </Descriptions>
      <Space wrap style={{ marginTop: 12 }}>
        <Input placeholder="api.shop.example.com" value={typed} onChange={(e) => setTyped(e.target.value)} style={{ width: 280 }} />
        <Checkbox checked={publishedToo} onChange={(e) => setPublishedToo(e.target.checked)}>
          {t("Published too")}
        </Checkbox>
        <Act
          type="primary"
          data-testid="domain-add"
          run={() => change("add", typed.split(/[\s,]+/).filter(Boolean))}
          done={(out) => {
            domains.setData(out as typeof d);
            setTyped("");
          }}
        >
          {t("Add")}
        </Act>
      </Space>
    </Card>
  );
}

/** The workspace's Alipay third-party application: its id and keys, kept in Secrets Manager and never shown again. */
function AlipayApp() {
  const t = useT();
  const [form] = Form.useForm();
  return (
    <Card title={t("Alipay application")} size="small">
      <Form form={form} layout="vertical" style={{ maxWidth: 720 }}>
        <Form.Item name="appId" label="appId" rules={[{ required: true, pattern: /^[0-9]{16}$/ }]}>
          <Input data-testid="alipay-app-id" autoComplete="off" style={{ width: 260 }} />
        </Form.Item>
        <Form.Item name="privateKey" label={t("Application private key (RSA2)")} rules={[{ required: true }]}>
          <Input.TextArea data-testid="alipay-private-key" rows={3} autoComplete="off" spellCheck={false} />
        </Form.Item>
        <Form.Item name="alipayPublicKey" label={t("Alipay public key")} rules={[{ required: true }]}>
          <Input.TextArea data-testid="alipay-public-key" rows={3} autoComplete="off" spellCheck={false} />
        </Form.Item>
        <Act
          type="primary"
          data-testid="alipay-register"
          run={async () => call(api.POST("/alipay/app/register", { body: await form.validateFields() }))}
          done={() => form.resetFields()}
        >
          {t("Save")}
        </Act>
      </Form>
    </Card>
  );
}

function Register() {
  const t = useT();
  const [form] = Form.useForm();
  return (
    <Card title={`${t("Create")} · ${t("Components")}`} size="small">
      <Form form={form} layout="vertical">
        <Space wrap>
          {["appid", "appsecret", "token", "encodingAesKey"].map((k) => (
            <Form.Item key={k} name={k} label={k} rules={[{ required: true }]}>
              <Input.Password visibilityToggle={k === "appid"} style={{ width: 260 }} autoComplete="off" />
            </Form.Item>
          ))}
        </Space>
        <Act type="primary" run={async () => call(api.POST("/component/register", { body: await form.validateFields() }))} done={() => form.resetFields()}>
          {t("Create")}
        </Act>
      </Form>
    </Card>
  );
}

export function ComponentsPage() {
  const role = session.get()!.role;
  return (
    <Space direction="vertical" style={{ width: "100%" }} size="large">
      <ComponentStatus />
      {(role === "admin" || role === "operator") && <MerchantLinks />}
      {(role === "admin" || role === "operator") && <Domains />}
      {role === "admin" && <AlipayApp />}
      {role === "admin" && <Register />}
    </Space>
  );
}
