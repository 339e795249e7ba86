// Published templates, as a merchant chooses one for its shop.
import { Button, Card, Col, Empty, Input, Row as Grid, Tag, Typography } from "antd";
import { api, call, type Row } from "../api/client";
import { useT } from "../i18n";
import { ErrorBox, useLoad, usePages } from "../ui/kit";
import { go, useRoute } from "../route";

export function MarketPage() {
  const t = useT();
  const { query } = useRoute();
  const industryId = query.get("industryId") ?? "";
  const { cursor, reset, pager } = usePages();
  const market = useLoad(
    () => call(api.GET("/template/market", { params: { query: { industryId: industryId || undefined, cursor, limit: 30 } } })),
    [industryId, cursor],
  );
  const items = (market.data?.items ?? []) as Row[];
  return (
    <Card
      title={t("Template market")}
      extra={
        <Input.Search
          allowClear
          placeholder={t("Industry id")}
          defaultValue={industryId}
          data-testid="market-industry"
          onSearch={(v) => {
            reset();
            go("/market", { industryId: v });
          }}
          style={{ width: 220 }}
        />
      }
    >
      <ErrorBox error={market.error} />
      {!items.length && !market.loading && <Empty description={t("Nothing here yet")} />}
      <Grid gutter={[16, 16]}>
        {items.map((m) => (
          <Col key={m.id} xs={24} sm={12} lg={8}>
            <Card
              data-testid={`market-${m.id}`}
              cover={m.imgUrl ? <img src={m.imgUrl} style={{ height: 140, objectFit: "cover" }} /> : undefined}
              actions={[
                <Button type="link" key="choose" data-testid={`choose-${m.id}`} onClick={() => go("/decorate", { templateId: m.id })}>
                  {t("Choose this template")}
                </Button>,
              ]}
            >
              <Card.Meta
                title={`${m.industryName ?? m.industryId} · ${m.userVersion ?? ""}`}
                description={
                  <>
                    <Typography.Paragraph ellipsis={{ rows: 2 }}>{m.desc}</Typography.Paragraph>
                    {(m.pages as Row[]).map((p) => (
                      <Tag key={p.pageKey}>{p.name ?? p.pageKey}</Tag>
                    ))}
                  </>
                }
              />
            </Card>
          </Col>
        ))}
      </Grid>
      {pager(market.data?.nextCursor)}
    </Card>
  );
}
