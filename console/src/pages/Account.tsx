// Logging in, accepting an invitation, signing up a provider, changing one's password.
import { useState } from "react";
import { App, Button, Card, Form, Input, Space } from "antd";
import { api, call } from "../api/client";
import { session, type Role } from "../session";
import { useT } from "../i18n";
import { ErrorBox } from "../ui/kit";
import { go } from "../route";

function useSubmit<T>(run: (v: T) => Promise<void>) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (v: T) => {
    setBusy(true);
    try {
      await run(v);
      setError(null);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, submit };
}

export function LoginPage() {
  const t = useT();
  const { error, busy, submit } = useSubmit(async (v: { account: string; password: string }) => {
    const out = await call(api.POST("/auth/login", { body: v }));
    session.set({
      token: out.token,
      account: v.account,
      role: out.role as Role,
      tenant: out.tenant,
      componentAppid: out.componentAppid ?? null,
      components: out.components ?? [],
      expiresAt: out.expiresAt,
    });
    if (location.hash.startsWith("#/login")) go("/");
  });
  return (
    <Card title={t("Log in")}>
      <ErrorBox error={error} />
      <Form layout="vertical" onFinish={submit} data-testid="login">
        <Form.Item name="account" label={t("Account")} rules={[{ required: true }]}>
          <Input autoComplete="username" />
        </Form.Item>
        <Form.Item name="password" label={t("Password")} rules={[{ required: true }]}>
          <Input.Password autoComplete="current-password" />
        </Form.Item>
        <Space wrap>
          <Button type="primary" htmlType="submit" loading={busy}>
            {t("Log in")}
          </Button>
          <Button type="link" onClick={() => go("/invite")}>
            {t("Accept an invitation")}
          </Button>
          <Button type="link" onClick={() => go("/signup")}>
            {t("Sign up a provider")}
          </Button>
        </Space>
      </Form>
    </Card>
  );
}

/** A new account: one field of its own (the invitation code, the provider's name), then account and password;
 * once created, on to the login. */
function NewAccountPage({
  title,
  field,
  label,
  create,
}: {
  title: string;
  field: "code" | "name";
  label: string;
  create: (v: Record<string, string>) => Promise<unknown>;
}) {
  const t = useT();
  const { message } = App.useApp();
  const { error, busy, submit } = useSubmit(async (v: Record<string, string>) => {
    await create(v);
    message.success(t("Account created: log in"));
    go("/login");
  });
  return (
    <Card title={t(title)}>
      <ErrorBox error={error} />
      <Form layout="vertical" onFinish={submit}>
        <Form.Item name={field} label={t(label)} rules={[{ required: true }]}>
          <Input />
        </Form.Item>
        <Form.Item name="account" label={t("Account")} rules={[{ required: true }]}>
          <Input autoComplete="username" />
        </Form.Item>
        <Form.Item name="password" label={t("Password")} rules={[{ required: true }]}>
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Space>
          <Button type="primary" htmlType="submit" loading={busy}>
            {t("Create")}
          </Button>
          <Button type="link" onClick={() => go("/login")}>
            {t("Back to login")}
          </Button>
        </Space>
      </Form>
    </Card>
  );
}

export function InvitePage() {
  return (
    <NewAccountPage
      title="Accept an invitation"
      field="code"
      label="Invitation code"
      create={({ code, account, password }) => call(api.POST("/invite/accept", { body: { code, account, password } }))}
    />
  );
}

export function SignupPage() {
  return (
    <NewAccountPage
      title="Sign up a provider"
      field="name"
      label="Provider name"
      create={({ name, account, password }) => call(api.POST("/tenant/signup", { body: { name, account, password } }))}
    />
  );
}

export function PasswordPage() {
  const t = useT();
  const { message } = App.useApp();
  const { error, busy, submit } = useSubmit(async (v: { currentPassword: string; newPassword: string }) => {
    await call(api.POST("/user/password", { body: v }));
    // The API ends every other session of the user, this one's token included: log in afresh.
    message.success(t("Password changed: log in again"));
    session.set(null);
    go("/login");
  });
  return (
    <Card title={t("Change password")} style={{ maxWidth: 480 }}>
      <ErrorBox error={error} />
      <Form layout="vertical" onFinish={submit}>
        <Form.Item name="currentPassword" label={t("Current password")} rules={[{ required: true }]}>
          <Input.Password autoComplete="current-password" />
        </Form.Item>
        <Form.Item name="newPassword" label={t("New password")} rules={[{ required: true }]}>
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Button type="primary" htmlType="submit" loading={busy}>
          {t("Save")}
        </Button>
      </Form>
    </Card>
  );
}
