// Every mini-program the user may see (a merchant its own, staff the component's), searchable and filtered by
// release state, a page at a time.
import { Button, Card, Input, Select, Space, Table, Tag } from "antd";
import { api, call, type Row } from "../api/client";
import { useT } from "../i18n";
import { ErrorBox, time, useLoad, usePages } from "../ui/kit";
import { RELEASE_STATES, StateTag } from "../ui/states";
import { go, useRoute } from "../route";
import type { paths } from "../api/schema";
import { AlipayMiniPrograms } from "./AlipayMiniPrograms";

type ReleaseState = NonNullable<NonNullable<paths["/miniprogram/list"]["get"]["parameters"]["query"]>["releaseState"]>;

export function MiniProgramsPage() {
  const t = useT();
  const { query } = useRoute();
  const search = query.get("search") ?? "";
  const releaseState = query.get("releaseState") ?? "";
  const { cursor, reset, pager } = usePages();
  const { data, error, loading, reload } = useLoad(
    () =>
      call(
        api.GET("/miniprogram/list", {
          params: { query: { search: search || undefined, releaseState: (releaseState || undefined) as ReleaseState | undefined, cursor, limit: 50 } },
        }),
      ),
    [search, releaseState, cursor],
  );
  return (
    <Space direction="vertical" style={{ width: "100%" }} size="large">
    <Card title={t("Mini-programs")} extra={<Button onClick={reload}>{t("Refresh")}</Button>}>
      <Space wrap style={{ marginBottom: 12 }}>
        <Input.Search
          allowClear
          data-testid="mp-search"
          placeholder={`${t("Search")}: ${t("Name")} / appid`}
          defaultValue={search}
          onSearch={(v) => {
            reset();
            go("/miniprograms", { search: v, releaseState });
          }}
          style={{ width: 280 }}
        />
        <Select
          allowClear
          placeholder={t("Release state")}
          value={releaseState || undefined}
          style={{ width: 200 }}
          options={RELEASE_STATES.map((s) => ({ value: s, label: <StateTag state={s} /> }))}
          onChange={(v) => {
            reset();
            go("/miniprograms", { search, releaseState: v });
          }}
        />
      </Space>
      <ErrorBox error={error} />
      <Table<Row>
        rowKey="maAppId"
        size="middle"
        loading={loading}
        dataSource={data?.items ?? []}
        pagination={false}
        scroll={{ x: 1600 }}
        data-testid="mp-table"
        onRow={(r) => ({ onClick: () => go(`/miniprograms/${r.maAppId}`), style: { cursor: "pointer" } })}
        columns={[
          { title: t("Name"), dataIndex: "nickName", render: (v, r) => v || r.userName || "—" },
          { title: "appid", dataIndex: "maAppId" },
          { title: t("Merchant"), dataIndex: "merchant" },
          { title: t("Shop"), dataIndex: "shopName", render: (v, r) => v ?? r.shopId ?? "—" },
          { title: t("Release state"), dataIndex: "releaseState", render: (v) => <StateTag state={v} /> },
          { title: t("Reason"), dataIndex: "auditReason", ellipsis: true },
          { title: t("Trial version"), dataIndex: "trialVersion" },
          { title: t("Online version"), dataIndex: "onlineVersion" },
          {
            title: t("Visits"),
            dataIndex: "accessStatus",
            render: (v) => (v === "close" ? <Tag color="red">{t("Closed")}</Tag> : v ? <Tag color="green">{t("Open")}</Tag> : null),
          },
          {
            title: t("Privacy contact"),
            dataIndex: "privacyContact",
            render: (v) => (v ? <Tag color="green">{t("Set")}</Tag> : <Tag>{t("Missing")}</Tag>),
          },
          {
            title: t("ICP filing"),
            dataIndex: "icpFiled",
            render: (v, r) =>
              v == null ? (
                <Tag>{t("Not checked")}</Tag>
              ) : (
                <Tag color={v ? "green" : "red"} title={time(r.icpCheckedAt)}>
                  {t(v ? "Filed" : "Not filed")}
                </Tag>
              ),
          },
          { title: t("Template"), dataIndex: "templateId" },
          { title: t("Hosted"), dataIndex: "hosted", render: (v) => (v ? <Tag color="blue">{t("Yes")}</Tag> : t("No")) },
          { title: t("Authorized at"), dataIndex: "authorizedAt", render: (v) => time(v) },
        ]}
      />
      {pager(data?.nextCursor)}
    </Card>
    <AlipayMiniPrograms />
    </Space>
  );
}
