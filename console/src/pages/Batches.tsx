// Batch release: the component's batches, and a new one — a published template to every authorized mini-program or
// to a selection, up to committed, submitted or released (gray if asked).
import { useState } from "react";
import { Button, Card, Form, Input, InputNumber, Radio, Select, Space, Table, Tag } from "antd";
import { api, call, type Row } from "../api/client";
import { useT } from "../i18n";
import { Act, ErrorBox, time, useLoad } from "../ui/kit";
import { StateTag } from "../ui/states";
import { go } from "../route";

/** The mini-programs decorated on a published template of `industry`, page by page, at most a batch's 1,000. */
async function decoratedInIndustry(industry: string, published: Row[]): Promise<string[]> {
  const templates = new Set(published.filter((m) => m.industryId === industry).map((m) => m.id as string));
  const out: string[] = [];
  let cursor: string | undefined;
  do {
    const page = (await call(api.GET("/miniprogram/list", { params: { query: { limit: 500, cursor } } }))) as Row;
    out.push(...(page.items as Row[]).filter((m) => templates.has(m.templateId)).map((m) => m.maAppId as string));
    cursor = page.nextCursor ?? undefined;
  } while (cursor && out.length < MAX_TARGETS);
  return out.slice(0, MAX_TARGETS);
}

const MAX_TARGETS = 1000;

function NewBatch() {
  const t = useT();
  const [form] = Form.useForm();
  const [targets, setTargets] = useState<"all" | "industry" | "some">("some");
  const [industry, setIndustry] = useState<string | undefined>();
  const [industryError, setIndustryError] = useState<unknown>(null);
  const [search, setSearch] = useState("");
  const [industryId, setIndustryId] = useState("");
  const templates = useLoad(
    () => call(api.GET("/template/list", { params: { query: { status: 2, industryId: industryId || undefined, limit: 100 } } })),
    [industryId],
  );
  const mps = useLoad(
    () => call(api.GET("/miniprogram/list", { params: { query: { search: search || undefined, limit: 500 } } })),
    [search],
  );
  return (
    <Card title={t("New batch")} size="small">
      <ErrorBox error={templates.error ?? mps.error} />
      <Form form={form} layout="vertical" initialValues={{ until: "released", userVersion: "1.0.0" }}>
        <Space wrap align="start">
          <Form.Item label={t("Industry id")}>
            <Input.Search allowClear onSearch={setIndustryId} style={{ width: 180 }} data-testid="batch-industry" />
          </Form.Item>
          <Form.Item name="templateId" label={t("Template")} rules={[{ required: true }]}>
            <Select
              data-testid="batch-template"
              style={{ width: 300 }}
              options={((templates.data?.items ?? []) as Row[]).map((m) => ({ value: m.id, label: `${m.industryName} · ${m.userVersion} (${m.id})` }))}
            />
          </Form.Item>
          <Form.Item name="userVersion" label={t("User version")} rules={[{ required: true }]}>
            <Input data-testid="batch-version" style={{ width: 140 }} />
          </Form.Item>
          <Form.Item name="userDesc" label={t("Description")}>
            <Input style={{ width: 200 }} />
          </Form.Item>
          <Form.Item name="until" label={t("Until")}>
            <Radio.Group
              options={["committed", "submitted", "released"].map((u) => ({ value: u, label: t(u) }))}
              optionType="button"
            />
          </Form.Item>
          <Form.Item name="gray" label={`${t("Gray release")} %`}>
            <InputNumber min={1} max={100} style={{ width: 100 }} />
          </Form.Item>
        </Space>
        <Form.Item label={t("Targets")}>
          <Radio.Group value={targets} onChange={(e) => setTargets(e.target.value)} data-testid="batch-targets">
            <Radio value="all">{t("Every authorized mini-program")}</Radio>
            <Radio value="industry">{t("By industry")}</Radio>
            <Radio value="some">{t("Selected mini-programs")}</Radio>
          </Radio.Group>
        </Form.Item>
        {targets === "industry" && (
          <Space direction="vertical" style={{ width: "100%" }}>
            <Space wrap>
              <Select
                placeholder={t("Industry name")}
                style={{ width: 240 }}
                value={industry}
                onChange={setIndustry}
                options={[...new Map(((templates.data?.items ?? []) as Row[]).map((m) => [m.industryId, m.industryName])).entries()].map(
                  ([value, label]) => ({ value, label: `${label} (${value})` }),
                )}
              />
              <Button
                disabled={!industry}
                onClick={async () => {
                  try {
                    const ids = await decoratedInIndustry(industry!, (templates.data?.items ?? []) as Row[]);
                    form.setFieldValue("maAppIds", ids);
                    setIndustryError(null);
                  } catch (e) {
                    setIndustryError(e);
                  }
                }}
              >
                {t("Select")}
              </Button>
            </Space>
            <ErrorBox error={industryError} />
            <Form.Item name="maAppIds" rules={[{ required: true }]}>
              <Select mode="multiple" maxTagCount={12} />
            </Form.Item>
          </Space>
        )}
        {targets === "some" && (
          <Space direction="vertical" style={{ width: "100%" }}>
            <Space>
              <Input.Search placeholder={t("Search")} onSearch={setSearch} style={{ width: 240 }} data-testid="batch-search" />
              <Button
                data-testid="batch-select-shown"
                onClick={() => form.setFieldValue("maAppIds", ((mps.data?.items ?? []) as Row[]).map((m) => m.maAppId))}
              >
                {t("All")} ({mps.data?.items?.length ?? 0})
              </Button>
            </Space>
            <Form.Item name="maAppIds" rules={[{ required: true }]}>
              <Select
                mode="multiple"
                data-testid="batch-mps"
                maxTagCount={12}
                options={((mps.data?.items ?? []) as Row[]).map((m) => ({ value: m.maAppId, label: `${m.nickName || ""} ${m.maAppId}` }))}
              />
            </Form.Item>
          </Space>
        )}
        <Act
          type="primary"
          data-testid="batch-start"
          run={async () => {
            const v = await form.validateFields();
            return call(
              api.POST("/batch/release", {
                body: {
                  templateId: v.templateId,
                  userVersion: v.userVersion,
                  userDesc: v.userDesc || undefined,
                  until: v.until,
                  gray: v.gray ? { percentage: v.gray } : undefined,
                  ...(targets === "all" ? { all: true } : { maAppIds: v.maAppIds }),
                },
              }),
            );
          }}
          done={(out) => go(`/batches/${(out as Row).batchId}`)}
        >
          {t("Start")}
        </Act>
      </Form>
    </Card>
  );
}

export function BatchesPage() {
  const t = useT();
  const list = useLoad(() => call(api.GET("/batch/list")), []);
  return (
    <Space direction="vertical" style={{ width: "100%" }} size="large">
      <NewBatch />
      <Card title={t("Batch release")} size="small" extra={<Button onClick={list.reload}>{t("Refresh")}</Button>}>
        <ErrorBox error={list.error} />
        <Table<Row>
          rowKey="batchId"
          size="small"
          data-testid="batches"
          dataSource={(list.data?.batches ?? []) as Row[]}
          pagination={false}
          scroll={{ x: 800 }}
          onRow={(r) => ({ onClick: () => go(`/batches/${r.batchId}`), style: { cursor: "pointer" } })}
          columns={[
            { title: "batchId", dataIndex: "batchId" },
            { title: t("Template"), dataIndex: "templateId" },
            { title: t("User version"), dataIndex: "userVersion" },
            { title: t("State"), dataIndex: "state", render: (v) => <StateTag state={v} /> },
            { title: t("Progress"), render: (_, r) => `${r.finished} / ${r.total}` },
            {
              title: t("Targets"),
              dataIndex: "counts",
              render: (c: Record<string, number>) =>
                Object.entries(c ?? {}).map(([k, n]) => <Tag key={k}>{`${k} ${n}`}</Tag>),
            },
            { title: t("Time"), dataIndex: "createdAt", render: (v) => time(v) },
          ]}
        />
      </Card>
    </Space>
  );
}
