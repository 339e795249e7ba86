// The component and its fleet at a glance: token health, the release states of the first page of mini-programs,
// the batches under way.
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
    async () => (role === "developer" ? null : ((await call(api.GET("/miniprogram/list", { params: { query: { limit: SAMPLE } as never } }))) as Row)),
    [role],
  );
  const items = (fleet.data?.items ?? []) as Row[];
  const counts = items.reduce<Record<string, number>>((c, m) => ({ ...c, [m.releaseState]: (c[m.releaseState] ?? 0) + 1 }), {});
  return (
    <Space direction="vertical" style={{ width: "100%" }} size="large">
      <ComponentStatus />
      {fleet.data && (
        <Card size="small" title={t("Counts by release state")} extra={fleet.data.nextCursor ? <Tag>first {SAMPLE}</Tag> : null}>
          <ErrorBox error={fleet.error} />
          <Space wrap size="large" data-testid="fleet-counts">
            <Statistic title={t("Mini-programs")} value={items.length} />
            {Object.entries(counts).map(([s, n]) => (
              <Statistic key={s} title={<StateTag state={s} />} value={n} />
            ))}
          </Space>
        </Card>
      )}
    </Space>
  );
}
