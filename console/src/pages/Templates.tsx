// The template's life: a developer turns a WeChat draft (or, for Alipay only, an Alipay template) into an industry
// template (0), hands it over (1), an
// operator describes it, gives it a cover and publishes it to the market (2), or takes it off again.
import { useState } from "react";
import { Button, Card, Drawer, Form, Input, Modal, Segmented, Space, Table, Tag, Typography } from "antd";
import { api, call, type Row } from "../api/client";
import { useT } from "../i18n";
import { session } from "../session";
import { Act, ErrorBox, ImageUpload, JsonEditor, time, useLoad, usePages } from "../ui/kit";
import { go, useRoute } from "../route";

const STATUS = ["Under development", "Handed over", "Published"];

function Drafts({ onMade }: { onMade: () => void }) {
  const t = useT();
  const drafts = useLoad(() => call(api.GET("/draft/list")), []);
  // What the template is made from: a WeChat draft, or (`{}`) an Alipay template alone.
  const [making, setMaking] = useState<{ draft?: Row } | null>(null);
  const draft = making?.draft;
  const [config, setConfig] = useState<unknown>({ theme: "red" });
  const [pages, setPages] = useState<unknown>([{ pageKey: "home", name: "Home", config: {} }]);
  const [form] = Form.useForm();
  return (
    <Card
      title={t("Draft box")}
      size="small"
      extra={
        <Space>
          <Button data-testid="make-alipay" onClick={() => setMaking({})}>
            {t("Make an Alipay-only template")}
          </Button>
          <Button onClick={drafts.reload}>{t("Refresh")}</Button>
        </Space>
      }
    >
      <ErrorBox error={drafts.error} />
      <Table<Row>
        rowKey="draft_id"
        size="small"
        data-testid="drafts"
        dataSource={(drafts.data?.items ?? []) as Row[]}
        pagination={{ pageSize: 5 }}
        columns={[
          { title: t("Draft"), dataIndex: "draft_id" },
          { title: t("User version"), dataIndex: "user_version" },
          { title: t("Description"), dataIndex: "user_desc" },
          { title: t("Time"), dataIndex: "create_time", render: (v) => time(v) },
          {
            title: t("Actions"),
            render: (_, r) => (
              <Button size="small" type="primary" data-testid={`make-${r.draft_id}`} onClick={() => setMaking({ draft: r })}>
                {t("Make a template")}
              </Button>
            ),
          },
        ]}
      />
      <Modal
        open={!!making}
        title={draft ? `${t("Make a template")} · ${t("Draft")} ${draft.draft_id}` : t("Make an Alipay-only template")}
        onCancel={() => setMaking(null)}
        footer={null}
        width={720}
        destroyOnHidden
      >
        <Form form={form} layout="vertical" initialValues={{ industryId: "catering", industryName: "餐饮" }}>
          <Space wrap>
            <Form.Item name="industryId" label={t("Industry id")} rules={[{ required: true }]}>
              <Input data-testid="industry-id" />
            </Form.Item>
            <Form.Item name="industryName" label={t("Industry name")} rules={[{ required: true }]}>
              <Input />
            </Form.Item>
            <Form.Item name="desc" label={t("Description")}>
              <Input />
            </Form.Item>
            <Form.Item
              name="alipayTemplateId"
              label={t("Alipay template id")}
              rules={[{ required: !draft }, { pattern: /^\d{1,32}$/ }]}
            >
              <Input data-testid="alipay-template-id" />
            </Form.Item>
          </Space>
          <Form.Item label={t("Default config (JSON)")}>
            <JsonEditor value={config} onValid={setConfig} rows={4} testId="template-config" />
          </Form.Item>
          <Form.Item label={t("Pages (JSON)")}>
            <JsonEditor value={pages} onValid={setPages} rows={6} testId="template-pages" />
          </Form.Item>
          <Act
            type="primary"
            data-testid="make-submit"
            run={async () => {
              const { alipayTemplateId, ...fields } = await form.validateFields();
              return call(
                api.POST("/draft/release", {
                  body: {
                    draftId: draft?.draft_id,
                    ...fields,
                    config,
                    pages,
                    alipay: alipayTemplateId ? { templateId: alipayTemplateId } : undefined,
                  },
                }),
              );
            }}
            done={() => {
              setMaking(null);
              onMade();
            }}
          >
            {t("Create")}
          </Act>
        </Form>
      </Modal>
    </Card>
  );
}

function Cover({ template, done }: { template: Row; done: () => void }) {
  const t = useT();
  return (
    <ImageUpload
      label={t("Upload cover")}
      presign={(contentType, size) => call(api.POST("/template/cover/upload-url", { body: { id: template.id, contentType, size } }))}
      finish={(img) => call(api.POST("/template/update", { body: { id: template.id, version: template.version, img } }))}
      done={done}
    />
  );
}

/** WeChat's code template library, which every industry template sits in, and how close it is to its cap. */
function Library({ made }: { made: number }) {
  const t = useT();
  const library = useLoad(() => call(api.GET("/template/library")), [made]);
  const l = library.data;
  const full = l ? l.count / l.limit : 0;
  return (
    <Card
      size="small"
      title={t("WeChat template library")}
      extra={
        l && (
          <Tag color={full >= 0.9 ? "red" : full >= 0.75 ? "orange" : "green"} data-testid="library-count">
            {l.count} / {l.limit}
          </Tag>
        )
      }
    >
      <ErrorBox error={library.error} />
      <Table<Row>
        rowKey="template_id"
        size="small"
        loading={library.loading}
        dataSource={(l?.items ?? []) as Row[]}
        pagination={{ pageSize: 10, hideOnSinglePage: true }}
        columns={[
          { title: "template_id", dataIndex: "template_id" },
          { title: "draft_id", dataIndex: "draft_id" },
          { title: t("User version"), dataIndex: "user_version" },
          { title: t("Source mini-program"), dataIndex: "source_miniprogram_appid" },
          { title: t("Created at"), dataIndex: "create_time", render: (v) => time(v) },
        ]}
      />
    </Card>
  );
}

export function TemplatesPage() {
  const t = useT();
  const role = session.get()!.role;
  const [status, setStatus] = useState<string>("all");
  const { query } = useRoute();
  const industryId = query.get("industryId") ?? "";
  const { cursor, reset, pager } = usePages();
  const list = useLoad(
    () =>
      call(
        api.GET("/template/list", {
          params: { query: { status: status === "all" ? undefined : (Number(status) as 0 | 1 | 2), industryId: industryId || undefined, cursor, limit: 100 } },
        }),
      ),
    [status, industryId, cursor],
  );
  const [detail, setDetail] = useState<Row | null>(null);
  const [made, setMade] = useState(0);
  const [desc, setDesc] = useState<Record<string, string>>({});
  const items = (list.data?.items ?? []) as Row[];
  const step = (path: "/template/handover" | "/template/release" | "/template/withdraw" | "/template/delete", r: Row) =>
    call(api.POST(path, { body: { id: r.id, version: r.version } }));
  return (
    <Space direction="vertical" style={{ width: "100%" }} size="large">
      {role === "developer" && (
        <Drafts
          onMade={() => {
            void list.reload();
            setMade((n) => n + 1);
          }}
        />
      )}
      <Library made={made} />
      <Card
        title={t("Templates")}
        extra={
          <Space>
            <Button onClick={list.reload}>{t("Refresh")}</Button>
          </Space>
        }
      >
        <Space wrap style={{ marginBottom: 12 }}>
        <Input.Search
          allowClear
          placeholder={t("Industry id")}
          defaultValue={industryId}
          data-testid="templates-industry"
          onSearch={(v) => {
            reset();
            go("/templates", { industryId: v });
          }}
          style={{ width: 220 }}
        />
        <Segmented
          value={status}
          onChange={(v) => {
            reset();
            setStatus(String(v));
          }}
          options={[{ label: t("All"), value: "all" }, ...STATUS.map((s, i) => ({ label: t(s), value: String(i) }))]}
        />
        </Space>
        <ErrorBox error={list.error} />
        <Table<Row>
          rowKey="id"
          size="middle"
          data-testid="templates"
          loading={list.loading}
          dataSource={items}
          pagination={false}
          scroll={{ x: 900 }}
          columns={[
            { title: "id", dataIndex: "id", render: (v, r) => <Typography.Link onClick={() => setDetail(r)}>{v}</Typography.Link> },
            { title: t("Industry name"), dataIndex: "industryName" },
            { title: t("User version"), dataIndex: "userVersion" },
            { title: t("State"), dataIndex: "status", render: (v, r) => <Tag data-status={v} data-version={r.version}>{t(STATUS[v] ?? String(v))}</Tag> },
            { title: t("Description"), dataIndex: "desc" },
            { title: t("Version"), dataIndex: "version" },
            {
              title: t("Actions"),
              render: (_, r) => (
                <Space wrap>
                  {role === "developer" && r.status === 0 && (
                    <>
                      <Act size="small" type="primary" data-testid={`handover-${r.id}`} run={() => step("/template/handover", r)} done={list.reload}>
                        {t("Hand over")}
                      </Act>
                      <Act size="small" danger run={() => step("/template/delete", r)} done={list.reload}>
                        {t("Delete")}
                      </Act>
                    </>
                  )}
                  {role === "operator" && r.status === 1 && (
                    <>
                      <Input
                        size="small"
                        placeholder={t("Description")}
                        style={{ width: 140 }}
                        data-testid={`desc-${r.id}`}
                        value={desc[r.id] ?? r.desc}
                        onChange={(e) => setDesc({ ...desc, [r.id]: e.target.value })}
                      />
                      <Act
                        size="small"
                        data-testid={`save-desc-${r.id}`}
                        run={() => call(api.POST("/template/update", { body: { id: r.id, version: r.version, desc: desc[r.id] ?? r.desc } }))}
                        done={list.reload}
                      >
                        {t("Save")}
                      </Act>
                      <Cover template={r} done={list.reload} />
                      <Act size="small" type="primary" data-testid={`publish-${r.id}`} run={() => step("/template/release", r)} done={list.reload}>
                        {t("Publish to market")}
                      </Act>
                    </>
                  )}
                  {role === "operator" && r.status === 2 && (
                    <Act size="small" run={() => step("/template/withdraw", r)} done={list.reload}>
                      {t("Withdraw")}
                    </Act>
                  )}
                </Space>
              ),
            },
          ]}
        />
      </Card>
      {pager(list.data?.nextCursor)}
      <Drawer open={!!detail} width={640} title={detail?.id} onClose={() => setDetail(null)}>
        {detail && <TemplateDetail id={detail.id} />}
      </Drawer>
    </Space>
  );
}

function TemplateDetail({ id }: { id: string }) {
  const t = useT();
  const role = session.get()!.role;
  const detail = useLoad(() => call(api.GET("/template/detail", { params: { query: { id } } })), [id]);
  const d = detail.data as Row | null;
  const [config, setConfig] = useState<unknown>(null);
  const [pages, setPages] = useState<unknown>(null);
  const editable = role === "developer" && d?.status === 0;
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <ErrorBox error={detail.error} />
      {d?.imgUrl && <img src={d.imgUrl} style={{ maxWidth: 240 }} />}
      {d && (
        <>
          <Typography.Text strong>{t("Default config (JSON)")}</Typography.Text>
          <JsonEditor value={d.config} onValid={setConfig} rows={6} />
          <Typography.Text strong>{t("Pages (JSON)")}</Typography.Text>
          <JsonEditor value={(d.pages as Row[]).map(({ pageKey, name, config: c }) => ({ pageKey, name, config: c }))} onValid={setPages} rows={10} />
          {editable && (
            <Act
              type="primary"
              run={() =>
                call(
                  api.POST("/template/update", {
                    body: { id, version: d.version, config: config ?? d.config, pages: pages ?? d.pages },
                  }),
                )
              }
              done={detail.reload}
            >
              {t("Save")}
            </Act>
          )}
          <pre style={{ fontSize: 12 }}>{JSON.stringify({ ...d, config: undefined, pages: undefined }, null, 2)}</pre>
        </>
      )}
    </Space>
  );
}
