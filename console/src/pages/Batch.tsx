// One batch, live: its state, progress and counts by target state refresh every two seconds while it runs; each
// target with its audit, errcode and reason; pause, resume, cancel, and a new batch for the failed ones.
import { useEffect } from "react";
import { Button, Card, Descriptions, Progress, Space, Table, Tag } from "antd";
import { api, call, type Row } from "../api/client";
import { useT } from "../i18n";
import { Act, ErrorBox, time, useLoad, usePages } from "../ui/kit";
import { StateTag } from "../ui/states";
import { go, openMiniProgram } from "../route";

const LIVE = ["running", "waiting_quota"];
const RETRY = ["failed", "rejected", "cancelled"];

/** Every target of the batch in one of `states`, page by page. */
async function targetsIn(batchId: string, states: string[]): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  do {
    const page = (await call(api.GET("/batch/status", { params: { query: { batchId, cursor } } }))) as Row;
    out.push(...(page.targets as Row[]).filter((x) => states.includes(x.state)).map((x) => x.maAppId as string));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

export function BatchPage({ batchId }: { batchId: string }) {
  const t = useT();
  const { cursor, pager } = usePages();
  const status = useLoad(() => call(api.GET("/batch/status", { params: { query: { batchId, cursor } } })), [batchId, cursor]);
  const b = status.data as Row | null;
  const live = !!b && LIVE.includes(b.state);
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => void status.reload(), 2000);
    return () => clearInterval(timer);
  }, [live, status.reload]);
  const body = { batchId };
  const retryable = b ? RETRY.reduce((n, s) => n + (b.counts?.[s] ?? 0), 0) : 0;
  return (
    <Card
      title={
        <Space>
          <Button size="small" onClick={() => go("/batches")}>←</Button>
          {batchId}
        </Space>
      }
      extra={
        <Space wrap>
          <Act run={() => call(api.POST("/batch/pause", { body }))} done={status.reload} data-testid="batch-pause">{t("Pause")}</Act>
          <Act run={() => call(api.POST("/batch/resume", { body }))} done={status.reload} data-testid="batch-resume">{t("Resume")}</Act>
          <Act danger run={() => call(api.POST("/batch/cancel", { body }))} done={status.reload} data-testid="batch-cancel">{t("Cancel")}</Act>
          <Act
            disabled={!retryable || live}
            data-testid="batch-retry"
            run={async () => {
              const maAppIds = await targetsIn(batchId, RETRY);
              return call(
                api.POST("/batch/release", {
                  body: {
                    templateId: b!.templateId,
                    userVersion: b!.userVersion,
                    until: b!.until,
                    gray: b!.grayPercentage ? { percentage: b!.grayPercentage } : undefined,
                    maAppIds,
                  },
                }),
              );
            }}
            done={(out) => go(`/batches/${(out as Row).batchId}`)}
          >
            {t("Retry the failed ones")} ({retryable})
          </Act>
        </Space>
      }
    >
      <ErrorBox error={status.error} />
      {b && (
        <Space direction="vertical" style={{ width: "100%" }}>
          <Descriptions size="small" column={{ xs: 1, md: 3 }}>
            <Descriptions.Item label={t("State")}>
              <span data-testid="batch-state">
                <StateTag state={b.state} />
              </span>
            </Descriptions.Item>
            <Descriptions.Item label={t("Template")}>{b.templateId}</Descriptions.Item>
            <Descriptions.Item label={t("User version")}>{b.userVersion}</Descriptions.Item>
            <Descriptions.Item label={t("Until")}>{t(b.until)}</Descriptions.Item>
            <Descriptions.Item label={t("Time")}>{time(b.createdAt)}</Descriptions.Item>
          </Descriptions>
          <Progress percent={b.total ? Math.round((100 * b.finished) / b.total) : 0} format={() => `${b.finished} / ${b.total}`} data-testid="batch-progress" />
          <Space wrap data-testid="batch-counts">
            {Object.entries((b.counts ?? {}) as Record<string, number>).map(([k, n]) => (
              <span key={k} data-count={k}>
                <StateTag state={k} /> {n}
              </span>
            ))}
          </Space>
          <Table<Row>
            rowKey="maAppId"
            size="small"
            data-testid="batch-targets-table"
            dataSource={(b.targets ?? []) as Row[]}
            pagination={false}
            scroll={{ x: 800 }}
            columns={[
              { title: "appid", dataIndex: "maAppId", render: (v) => <a onClick={() => openMiniProgram(v)}>{v}</a> },
              { title: t("State"), dataIndex: "state", render: (v) => <StateTag state={v} /> },
              { title: "auditId", dataIndex: "auditId" },
              { title: "errcode", dataIndex: "errcode", render: (v) => (v ? <Tag color="red">{v}</Tag> : null) },
              { title: t("Reason"), dataIndex: "reason" },
              { title: t("Attempts"), dataIndex: "attempts" },
              { title: t("Updated"), dataIndex: "updatedAt", render: (v) => time(v) },
            ]}
          />
          {pager(b.nextCursor)}
        </Space>
      )}
    </Card>
  );
}
