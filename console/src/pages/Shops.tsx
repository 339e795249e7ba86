// A merchant's shops (seed 000): a name grouping one of its mini-programs and an official account; renamed,
// regrouped with the version it read (a stale change is refused), deleted.
import { useState } from "react";
import { Card, Form, Input, Select, Space, Table } from "antd";
import { api, call, type Row } from "../api/client";
import { useT } from "../i18n";
import { Act, ErrorBox, time, useLoad } from "../ui/kit";

export function ShopsPage() {
  const t = useT();
  const shops = useLoad(() => call(api.GET("/shop/list")), []);
  const mine = useLoad(() => call(api.GET("/miniprogram/list", { params: { query: { limit: 100 } } })), []);
  const [form] = Form.useForm();
  const [edits, setEdits] = useState<Record<string, Row>>({});
  const options = [
    { value: "", label: "—" },
    ...((mine.data?.items ?? []) as Row[]).map((m) => ({ value: m.maAppId, label: `${m.nickName || m.maAppId} (${m.maAppId})` })),
  ];
  const edit = (id: string, patch: Row) => setEdits({ ...edits, [id]: { ...edits[id], ...patch } });
  return (
    <Card title={t("Shops")}>
      <ErrorBox error={shops.error ?? mine.error} />
      <Form form={form} layout="inline" style={{ marginBottom: 12, rowGap: 8 }}>
        <Form.Item name="name" rules={[{ required: true }]}>
          <Input placeholder={t("Name")} data-testid="shop-name" style={{ width: 200 }} />
        </Form.Item>
        <Form.Item name="maAppId">
          <Select placeholder={t("Mini-program")} options={options} style={{ width: 260 }} />
        </Form.Item>
        <Form.Item name="officialAccountAppId">
          <Input placeholder="official account appid" style={{ width: 200 }} />
        </Form.Item>
        <Act
          type="primary"
          data-testid="shop-create"
          run={async () => {
            const v = await form.validateFields();
            return call(api.POST("/shop/create", { body: { name: v.name, maAppId: v.maAppId || undefined, officialAccountAppId: v.officialAccountAppId || undefined } }));
          }}
          done={() => {
            form.resetFields();
            void shops.reload();
          }}
        >
          {t("Create")}
        </Act>
      </Form>
      <Table<Row>
        rowKey="shopId"
        size="small"
        data-testid="shops"
        pagination={false}
        scroll={{ x: 800 }}
        dataSource={((shops.data as Row | null)?.shops ?? []) as Row[]}
        columns={[
          {
            title: t("Name"),
            dataIndex: "name",
            render: (v, r) => <Input size="small" value={edits[r.shopId]?.name ?? v} onChange={(e) => edit(r.shopId, { name: e.target.value })} />,
          },
          {
            title: t("Mini-program"),
            dataIndex: "maAppId",
            render: (v, r) => (
              <Select size="small" style={{ width: 240 }} options={options} value={edits[r.shopId]?.maAppId ?? v ?? ""} onChange={(x) => edit(r.shopId, { maAppId: x })} />
            ),
          },
          { title: "official account", dataIndex: "officialAccountAppId" },
          { title: t("Version"), dataIndex: "version" },
          { title: t("Time"), dataIndex: "createTime", render: (v) => time(v) },
          {
            title: t("Actions"),
            render: (_, r) => (
              <Space>
                <Act
                  size="small"
                  disabled={!edits[r.shopId]}
                  run={() => call(api.POST("/shop/update", { body: { shopId: r.shopId, version: r.version, ...edits[r.shopId] } }))}
                  done={() => {
                    const { [r.shopId]: _saved, ...rest } = edits;
                    setEdits(rest);
                    void shops.reload();
                  }}
                >
                  {t("Save")}
                </Act>
                <Act size="small" danger run={() => call(api.POST("/shop/delete", { body: { shopId: r.shopId, version: r.version } }))} done={shops.reload}>
                  {t("Delete")}
                </Act>
              </Space>
            ),
          },
        ]}
      />
    </Card>
  );
}
