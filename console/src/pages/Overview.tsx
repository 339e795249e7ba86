// The component and its fleet at a glance: token health, the decorated mini-programs counted by release state (kept
// with every release step, so exact for any fleet), the audits waiting at WeChat and the platform's audit quota left
// this month.
import { Card, Space, Statistic } from "antd";
import { api, call, type Row } from "../api/client";
import { useT } from "../i18n";
import { session } from "../session";
import { ErrorBox, useLoad } from "../ui/kit";
import { StateTag } from "../ui/states";
import { ComponentStatus } from "./Components";

const WAITING = ["auditing", "submit_pending", "delayed"];

export function OverviewPage() {
  const t = useT();
  const role = session.get()!.role;
  const fleet = useLoad(() => call(api.GET("/fleet/summary")), []);
  // WeChat's audit quota is the platform's month, whichever mini-program asks.
  const asker = useLoad(
    async () => (role === "developer" ? null : ((await call(api.GET("/miniprogram/list", { params: { query: { limit: 1 } } }))) as Row)),
    [role],
  );
  const appid = asker.data?.items?.[0]?.maAppId as string | undefined;
  const quota = useLoad(
    async () => (appid ? ((await call(api.GET("/code/audit/quota", { params: { query: { maAppId: appid } } }))) as Row) : null),
    [appid],
  );
  const counts = (fleet.data?.releaseStates ?? {}) as Record<string, number>;
  return (
    <Space direction="vertical" style={{ width: "100%" }} size="large">
      <ComponentStatus />
      <Card size="small" title={t("Counts by release state")}>
        <ErrorBox error={fleet.error ?? quota.error} />
        <Space wrap size="large" data-testid="fleet-counts">
          <Statistic title={t("Decorated")} value={fleet.data?.decorated ?? 0} />
          <Statistic title={t("Audits waiting")} value={WAITING.reduce((n, s) => n + (counts[s] ?? 0), 0)} />
          {quota.data && <Statistic title={t("Audits left this month")} value={quota.data.rest} suffix={`/ ${quota.data.limit}`} />}
          {Object.entries(counts).map(([s, n]) => (
            <span key={s} data-count={s}>
              <Statistic title={<StateTag state={s} />} value={n} />
            </span>
          ))}
        </Space>
      </Card>
    </Space>
  );
}
