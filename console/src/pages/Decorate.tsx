// A merchant decorates its mini-program: the template's config and pages with a form or as JSON, saved with the
// version it read (a stale save is refused, not lost), then released; the trial QR code and the audit result show.
import { useEffect, useState } from "react";
import { Alert, Button, Card, Descriptions, Empty, Form, Image, Input, InputNumber, Select, Space, Switch, Tabs } from "antd";
import { api, call, type Row } from "../api/client";
import { useT } from "../i18n";
import { Act, ErrorBox, JsonEditor, useLoad } from "../ui/kit";
import { StateTag } from "../ui/states";
import { go, openMiniProgram, useRoute } from "../route";
import type { paths } from "../api/schema";

type Config = Record<string, unknown>;

type SavedPage = NonNullable<paths["/config/save"]["post"]["requestBody"]>["content"]["application/json"]["pages"][number];

/** What a merchant saves of a page: the answer's id, pageValue and url are the platform's, not the merchant's. */
function saveable({ pageKey, name, config, status, ext }: Row): SavedPage {
  return { pageKey, name, config, status, ext };
}

/** The flat part of a config as form fields (text, number, switch); nested values are edited in the JSON view. */
function ConfigForm({ value, onChange }: { value: Config; onChange: (c: Config) => void }) {
  const flat = Object.entries(value).filter(([, v]) => ["string", "number", "boolean"].includes(typeof v));
  if (!flat.length) return <Empty />;
  return (
    <Form layout="vertical">
      {flat.map(([k, v]) => (
        <Form.Item key={k} label={k}>
          {typeof v === "boolean" ? (
            <Switch checked={v} onChange={(c) => onChange({ ...value, [k]: c })} />
          ) : typeof v === "number" ? (
            <InputNumber value={v} onChange={(n) => onChange({ ...value, [k]: n ?? 0 })} />
          ) : (
            <Input data-testid={`config-${k}`} value={v as string} onChange={(e) => onChange({ ...value, [k]: e.target.value })} />
          )}
        </Form.Item>
      ))}
    </Form>
  );
}

export function DecoratePage() {
  const t = useT();
  const { query } = useRoute();
  const maAppId = query.get("maAppId") ?? undefined;
  const templateId = query.get("templateId") ?? undefined;
  const mine = useLoad(() => call(api.GET("/miniprogram/list", { params: { query: { limit: 100 } } })), []);
  // Alipay mini-programs are decorated and released through the same routes (an empty list without Alipay).
  const alipay = useLoad(() => call(api.GET("/alipay/miniprogram/list", { params: { query: { limit: 100 } } })), []);
  const market = useLoad(() => call(api.GET("/template/market", { params: { query: { limit: 100 } } })), []);
  const decoration = useLoad(
    async () =>
      maAppId && templateId
        ? ((await call(api.GET("/config/query", { params: { query: { maAppId, templateId } } }))) as Row)
        : null,
    [maAppId, templateId],
  );
  const qr = useLoad(
    async () => (maAppId ? ((await call(api.GET("/code/qrcode", { params: { query: { maAppId } } }))) as Row) : null),
    [maAppId],
  );
  const [config, setConfig] = useState<Config>({});
  const [pages, setPages] = useState<Row[]>([]);
  const [userVersion, setUserVersion] = useState("1.0.0");
  const d = decoration.data;
  useEffect(() => {
    if (d) {
      setConfig((d.config ?? {}) as Config);
      setPages((d.pages ?? []) as Row[]);
    }
  }, [d]);
  const pick = (k: string, v?: string) => go("/decorate", { maAppId, templateId, [k]: v });

  return (
    <Space direction="vertical" style={{ width: "100%" }} size="large">
      <Card title={t("Decorate")}>
        <Space wrap>
          <Select
            data-testid="pick-mp"
            placeholder={t("Mini-program")}
            style={{ width: 280 }}
            value={maAppId}
            onChange={(v) => pick("maAppId", v)}
            options={[
              ...((mine.data?.items ?? []) as Row[]).map((m) => ({ value: m.maAppId, label: `${m.nickName || m.maAppId} (${m.maAppId})` })),
              ...((alipay.data?.items ?? []) as Row[])
                .filter((m) => m.status === "authorized")
                .map((m) => ({ value: m.miniAppId, label: `${t("Alipay")} (${m.miniAppId})` })),
            ]}
          />
          <Select
            data-testid="pick-template"
            placeholder={t("Template")}
            style={{ width: 280 }}
            value={templateId}
            onChange={(v) => pick("templateId", v)}
            options={((market.data?.items ?? []) as Row[]).map((m) => ({ value: m.id, label: `${m.industryName} · ${m.userVersion} (${m.id})` }))}
          />
        </Space>
        <ErrorBox error={mine.error ?? market.error} />
      </Card>
      <ErrorBox error={decoration.error} />
      {d && (
        <>
          <Card size="small">
            <Descriptions size="small" column={{ xs: 1, md: 3 }}>
              <Descriptions.Item label={t("Saved")}>{d.saved ? t("Yes") : t("No")}</Descriptions.Item>
              <Descriptions.Item label={t("Version")}>{d.version ?? "—"}</Descriptions.Item>
              <Descriptions.Item label={t("Audit status")}>
                <span data-testid="audit-status">{d.auditStatusDesc ?? "—"}</span>
              </Descriptions.Item>
              {d.reason && <Descriptions.Item label={t("Reason")}>{d.reason}</Descriptions.Item>}
              {qr.data?.qrCodeUrl && (
                <Descriptions.Item label={t("Trial QR code")}>
                  <Image width={96} src={qr.data.qrCodeUrl} />
                </Descriptions.Item>
              )}
            </Descriptions>
          </Card>
          <Card size="small" title={t("Config")}>
            <Tabs
              items={[
                { key: "form", label: t("Form"), children: <ConfigForm value={config} onChange={setConfig} /> },
                { key: "json", label: "JSON", children: <JsonEditor value={config} onValid={(v) => setConfig(v as Config)} testId="config-json" /> },
              ]}
            />
          </Card>
          <Card size="small" title={t("Pages")}>
            <Tabs
              items={[
                {
                  key: "form",
                  label: t("Form"),
                  children: (
                    <Space direction="vertical" style={{ width: "100%" }}>
                      {pages.map((page, i) => {
                        const set = (patch: Row) => setPages(pages.map((x, j) => (j === i ? { ...x, ...patch } : x)));
                        return (
                          <Card key={page.pageKey} size="small" type="inner" title={page.pageKey}>
                            <Space wrap style={{ marginBottom: 8 }}>
                              <Input addonBefore={t("Name")} value={page.name} onChange={(e) => set({ name: e.target.value })} style={{ width: 260 }} />
                              <Switch checkedChildren={t("Shown")} unCheckedChildren={t("Hidden")} checked={page.status !== 0} onChange={(on) => set({ status: on ? 1 : 0 })} />
                            </Space>
                            <ConfigForm value={(page.config ?? {}) as Config} onChange={(c) => set({ config: c })} />
                          </Card>
                        );
                      })}
                    </Space>
                  ),
                },
                { key: "json", label: "JSON", children: <JsonEditor value={pages.map(saveable)} onValid={(v) => setPages(v as Row[])} rows={8} testId="pages-json" /> },
              ]}
            />
          </Card>
          <Space wrap>
            <Act
              type="primary"
              data-testid="save-config"
              run={() =>
                call(
                  api.POST("/config/save", {
                    body: { maAppId: maAppId!, templateId: templateId!, config, pages: pages.map(saveable), version: d.version ?? undefined },
                  }),
                )
              }
              done={decoration.reload}
            >
              {t("Save")}
            </Act>
            <Input addonBefore={t("User version")} value={userVersion} onChange={(e) => setUserVersion(e.target.value)} style={{ width: 220 }} />
            <Act
              data-testid="release-config"
              disabled={!d.saved}
              run={() => call(api.POST("/code/release", { body: { maAppId: maAppId!, userVersion } }))}
              done={() => {
                void decoration.reload();
                void qr.reload();
              }}
            >
              {t("Release")}
            </Act>
            <Button onClick={() => maAppId && openMiniProgram(maAppId)}>{t("Open the mini-program")}</Button>
          </Space>
          {!d.saved && <Alert type="info" showIcon message={<StateTag state="none" />} />}
        </>
      )}
    </Space>
  );
}
