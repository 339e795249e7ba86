// A merchant authorizes its mini-program to the platform: WeChat's consent page, by link on a computer or by QR code
// on a phone; WeChat sends the browser back here (#/authorized?outcome=...).
import { Button, Card, QRCode, Result, Space, Typography } from "antd";
import { api, call } from "../api/client";
import { useT } from "../i18n";
import { ErrorBox, useLoad } from "../ui/kit";
import { go, useRoute } from "../route";

export function AuthorizePage() {
  const t = useT();
  const { path, query } = useRoute();
  const pc = useLoad(() => call(api.GET("/auth/link", { params: { query: { kind: "pc" } } })), []);
  const h5 = useLoad(() => call(api.GET("/auth/link", { params: { query: { kind: "h5" } } })), []);
  const outcome = path[0] === "authorized" ? query.get("outcome") : null;
  const appid = query.get("maAppId");
  return (
    <Space direction="vertical" style={{ width: "100%" }} size="large">
      {outcome === "authorized" && appid && (
        <Result
          status="success"
          data-testid="authorized"
          title={t("Authorized: the mini-program is yours")}
          subTitle={appid}
          extra={<Button type="primary" onClick={() => go(`/miniprograms/${appid}`)}>{t("Open the mini-program")}</Button>}
        />
      )}
      {outcome === "error" && <Result status="error" title={t("Authorization failed")} subTitle={`HTTP ${query.get("status")}`} />}
      <Card title={t("Authorize a mini-program")}>
        <ErrorBox error={pc.error ?? h5.error} />
        <Space wrap size="large" align="start">
          <Space direction="vertical">
            <Typography.Text strong>{t("PC link")}</Typography.Text>
            {pc.data && (
              <a href={(pc.data as { url: string }).url} data-testid="auth-pc">
                {t("Open")}
              </a>
            )}
          </Space>
          <Space direction="vertical">
            <Typography.Text strong>{t("Mobile link (H5)")}</Typography.Text>
            {h5.data && <QRCode value={(h5.data as { url: string }).url} size={160} />}
          </Space>
        </Space>
      </Card>
    </Space>
  );
}
