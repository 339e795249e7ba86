// Fast registration (代注册): a company or a person gets a new mini-program; the legal person (or the person) opens
// WeChat's link within 24 hours, and the new mini-program is authorized and given to the merchant who asked.
import { useState } from "react";
import { Card, Form, Input, QRCode, Radio, Space, Typography } from "antd";
import { api, call, type Row } from "../api/client";
import { useT } from "../i18n";
import { session } from "../session";
import { Act, ErrorBox, useLoad } from "../ui/kit";
import { StateTag } from "../ui/states";

function Task({ taskId }: { taskId: string }) {
  const t = useT();
  const task = useLoad(() => call(api.GET("/register/status", { params: { query: { taskId } } })), [taskId]);
  const x = task.data as Row | null;
  return (
    <Card size="small" title={taskId} extra={<Act size="small" run={task.reload}>{t("Refresh")}</Act>}>
      <ErrorBox error={task.error} />
      {x && (
        <Space align="start" wrap>
          <QRCode value={x.authorizeUrl} size={140} />
          <Space direction="vertical">
            <span data-testid="register-state">
              <StateTag state={x.state === "registered" ? "released" : x.state === "failed" ? "failed" : "pending"} /> {x.state}
            </span>
            {x.maAppId && <Typography.Text copyable>{x.maAppId}</Typography.Text>}
            {x.message && <Typography.Text type="danger">{x.message}</Typography.Text>}
            <Typography.Link href={x.authorizeUrl} target="_blank">{t("Open")}</Typography.Link>
          </Space>
        </Space>
      )}
    </Card>
  );
}

export function RegisterPage() {
  const t = useT();
  const operator = session.get()!.role === "operator";
  const [form] = Form.useForm();
  const [kind, setKind] = useState<"company" | "person">("company");
  const [tasks, setTasks] = useState<string[]>([]);
  return (
    <Space direction="vertical" style={{ width: "100%" }} size="large">
      <Card title={t("Register a mini-program")}>
        <Radio.Group value={kind} onChange={(e) => setKind(e.target.value)} optionType="button" style={{ marginBottom: 12 }}
          options={[{ value: "company", label: "企业 company" }, { value: "person", label: "个人 person" }]} />
        <Form form={form} layout="vertical">
          <Space wrap>
            {kind === "company" && (
              <>
                <Form.Item name="name" label="企业名称 name" rules={[{ required: true }]}><Input style={{ width: 260 }} /></Form.Item>
                <Form.Item name="code" label="统一社会信用代码 code" rules={[{ required: true }]}><Input style={{ width: 220 }} /></Form.Item>
              </>
            )}
            <Form.Item name="personName" label="法人/本人姓名 personName" rules={[{ required: true }]}><Input style={{ width: 180 }} /></Form.Item>
            <Form.Item name="wechatId" label={t("WeChat id")} rules={[{ required: true }]}><Input style={{ width: 180 }} /></Form.Item>
            <Form.Item name="componentPhone" label="phone"><Input style={{ width: 160 }} /></Form.Item>
            {operator && <Form.Item name="merchant" label={t("Merchant")} rules={[{ required: true }]}><Input style={{ width: 200 }} /></Form.Item>}
          </Space>
          <Act
            type="primary"
            run={async () => {
              const v = await form.validateFields();
              return call(api.POST("/register/create", { body: { kind, ...Object.fromEntries(Object.entries(v).filter(([, x]) => x)) } }));
            }}
            done={(out) => setTasks([(out as Row).taskId, ...tasks])}
          >
            {t("Create")}
          </Act>
        </Form>
      </Card>
      {tasks.map((id) => (
        <Task key={id} taskId={id} />
      ))}
    </Space>
  );
}
