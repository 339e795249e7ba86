// An admin's tenant: its users and their roles, and single-use invitations (the code is shown once).
import { useState } from "react";
import { App, Button, Card, Form, Input, Modal, Select, Space, Table, Tag, Typography } from "antd";
import { api, call, type Row } from "../api/client";
import { useT } from "../i18n";
import { session } from "../session";
import { Act, ErrorBox, describe, time, useLoad } from "../ui/kit";

const ROLES = ["admin", "developer", "operator", "merchant"] as const;

export function UsersPage() {
  const t = useT();
  const { modal } = App.useApp();
  const me = session.get()!;
  const users = useLoad(() => call(api.GET("/user/list", { params: { query: { limit: 100 } } })), []);
  const invites = useLoad(() => call(api.GET("/invite/list")), []);
  const [creating, setCreating] = useState(false);
  const [form] = Form.useForm();
  const [inviteRole, setInviteRole] = useState<(typeof ROLES)[number]>("merchant");
  const roleOptions = ROLES.map((r) => ({ value: r, label: t(r) }));
  return (
    <Space direction="vertical" style={{ width: "100%" }} size="large">
      <Card title={t("Users")} extra={<Button onClick={() => setCreating(true)}>{t("New user")}</Button>}>
        <ErrorBox error={users.error} />
        <Table<Row>
          rowKey="account"
          size="small"
          dataSource={(users.data?.items ?? []) as Row[]}
          pagination={false}
          scroll={{ x: 700 }}
          columns={[
            { title: t("Account"), dataIndex: "account" },
            {
              title: t("Role"),
              dataIndex: "role",
              render: (v, r) => (
                <Select
                  size="small"
                  value={v}
                  disabled={r.account === me.account}
                  options={roleOptions}
                  style={{ width: 120 }}
                  onChange={async (role) => {
                    try {
                      await call(api.POST("/user/role", { body: { account: r.account, role } }));
                      void users.reload();
                    } catch (e) {
                      const { code, message } = describe(e);
                      modal.error({ title: code, content: message });
                    }
                  }}
                />
              ),
            },
            { title: t("Components"), dataIndex: "components", render: (c: string[]) => c?.map((x) => <Tag key={x}>{x}</Tag>) },
            { title: t("State"), dataIndex: "disabled", render: (d) => (d ? <Tag color="red">{t("Disable")}</Tag> : <Tag color="green">OK</Tag>) },
            { title: t("Time"), dataIndex: "createdAt", render: (v) => time(v) },
            {
              title: t("Actions"),
              render: (_, r) =>
                r.account === me.account ? null : r.disabled ? (
                  <Act size="small" run={() => call(api.POST("/user/enable", { body: { account: r.account } }))} done={users.reload}>
                    {t("Enable")}
                  </Act>
                ) : (
                  <Act size="small" danger run={() => call(api.POST("/user/disable", { body: { account: r.account } }))} done={users.reload}>
                    {t("Disable")}
                  </Act>
                ),
            },
          ]}
        />
      </Card>
      <Card
        title={t("Invitations")}
        extra={
          <Space>
            <Select size="small" value={inviteRole} options={roleOptions} onChange={setInviteRole} style={{ width: 120 }} />
            <Act
              data-testid="invite-create"
              run={() => call(api.POST("/invite/create", { body: { role: inviteRole, components: me.components } }))}
              done={(out) => {
                modal.success({
                  title: t("Shown once: copy it now"),
                  content: <Typography.Text copyable data-testid="invite-code">{(out as Row).code}</Typography.Text>,
                });
                void invites.reload();
              }}
            >
              {t("New invitation")}
            </Act>
          </Space>
        }
      >
        <ErrorBox error={invites.error} />
        <Table<Row>
          rowKey="id"
          size="small"
          dataSource={(invites.data?.items ?? []) as Row[]}
          pagination={false}
          scroll={{ x: 700 }}
          columns={[
            { title: t("Role"), dataIndex: "role", render: (v) => t(v) },
            { title: t("State"), dataIndex: "state" },
            { title: t("Components"), dataIndex: "components", render: (c: string[]) => c?.join(", ") },
            { title: "expiresAt", dataIndex: "expiresAt", render: (v) => time(v) },
            {
              title: t("Actions"),
              render: (_, r) =>
                r.state === "open" ? (
                  <Act size="small" run={() => call(api.POST("/invite/revoke", { body: { id: r.id } }))} done={invites.reload}>
                    {t("Revoke")}
                  </Act>
                ) : null,
            },
          ]}
        />
      </Card>
      <Modal open={creating} title={t("New user")} onCancel={() => setCreating(false)} footer={null} destroyOnHidden>
        <Form form={form} layout="vertical" initialValues={{ role: "merchant" }}>
          <Form.Item name="account" label={t("Account")} rules={[{ required: true }]}>
            <Input />
          </Form.Item>
          <Form.Item name="password" label={t("Password")} rules={[{ required: true }]}>
            <Input.Password autoComplete="new-password" />
          </Form.Item>
          <Form.Item name="role" label={t("Role")}>
            <Select options={roleOptions} />
          </Form.Item>
          <Act
            type="primary"
            run={async () => {
              const v = await form.validateFields();
              return call(api.POST("/user/create", { body: { ...v, components: me.components } }));
            }}
            done={() => {
              setCreating(false);
              void users.reload();
            }}
          >
            {t("Create")}
          </Act>
        </Form>
      </Modal>
    </Space>
  );
}
