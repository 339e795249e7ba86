// The component and its fleet at a glance: token health, the release states of (the first page of) its
// mini-programs, the audits waiting at WeChat and the platform's audit quota left this month.
import { Card, Space, Statistic, Tag } from "antd";
import { api, call, type Row } from "../api/client";
import { useT } from "../i18n";
import { session } from "../session";
import { ErrorBox, useLoad } from "../ui/kit";
import { StateTag } from "../ui/states";
import { ComponentStatus } from "./Components";

const SAMPLE = 500;

export function OverviewPage() {
  const t = useT();
  const role = session.get()!.role;
  const fleet = useLoad(
    async () => (role === "developer" ? null : ((await call(api.GET("/miniprogram/list", { params: { query: { limit: SAMPLE } } }))) as Row)),
    [role],
  );
  const items = (fleet.data?.items ?? []) as Row[];
  // WeChat's audit quota is the platform's month, whichever mini-program asks.
  const asker = items[0]?.maAppId as string | undefined;
  const quota = useLoad(
    async () => (asker ? ((await call(api.GET("/code/audit/quota", { params: { query: { maAppId: asker } } }))) as Row) : null),
    [asker],
  );
  const waiting = ["auditing", "submit_pending", "delayed"];
  const counts = items.reduce<Record<string, number>>((c, m) => ({ ...c, [m.releaseState]: (c[m.releaseState] ?? 0) + 1 }), {});
  return (
    <Space direction="vertical" style={{ width: "100%" }} size="large">
      <ComponentStatus />
      {fleet.data && (
        <Card size="small" title={t("Counts by release state")} extra={fleet.data.nextCursor ? <Tag>first {SAMPLE}</Tag> : null}>
          <ErrorBox error={fleet.error} />
          <Space wrap size="large" data-testid="fleet-counts">
            <Statistic title={t("Mini-programs")} value={items.length} />
            <Statistic title={t("Audits waiting")} value={items.filter((m) => waiting.includes(m.releaseState)).length} />
            {quota.data && <Statistic title={t("Audits left this month")} value={quota.data.rest} suffix={`/ ${quota.data.limit}`} />}
            {Object.entries(counts).map(([s, n]) => (
              <Statistic key={s} title={<StateTag state={s} />} value={n} />
            ))}
          </Space>
        </Card>
      )}
    </Space>
  );
}
