// A merchant authorizes its mini-program to the platform: WeChat's consent page, by link on a computer or by QR code
// on a phone; WeChat sends the browser back here (#/authorized?outcome=...).
import { useState } from "react";
import { Button, Card, Input, QRCode, Result, Space, Typography } from "antd";
import { api, ApiError, call } from "../api/client";
import { useT } from "../i18n";
import { ErrorBox, useLoad } from "../ui/kit";
import { openMiniProgram, useRoute } from "../route";

/** WeChat's consent page by link (PC) and by QR code (H5), for the caller or, from staff, for `merchant`. */
function Links({ merchant }: { merchant?: string }) {
  const t = useT();
  const pc = useLoad(() => call(api.GET("/auth/link", { params: { query: { kind: "pc", merchant } } })), [merchant]);
  const h5 = useLoad(() => call(api.GET("/auth/link", { params: { query: { kind: "h5", merchant } } })), [merchant]);
  const pcUrl = (pc.data as { url: string } | null)?.url;
  return (
    <>
      <ErrorBox error={pc.error ?? h5.error} />
      <Space wrap size="large" align="start">
        <Space direction="vertical">
          <Typography.Text strong>{t("PC link")}</Typography.Text>
          {pcUrl && (
            <Typography.Link href={pcUrl} copyable={merchant ? { text: pcUrl } : false} data-testid="auth-pc">
              {t("Open")}
            </Typography.Link>
          )}
        </Space>
        <Space direction="vertical">
          <Typography.Text strong>{t("Mobile link (H5)")}</Typography.Text>
          {h5.data && <QRCode value={(h5.data as { url: string }).url} size={160} data-testid="auth-h5" />}
        </Space>
        <AlipayLink merchant={merchant} />
      </Space>
    </>
  );
}

/** Alipay's consent page (appToAppAuth) for an Alipay mini-program, when the workspace has an Alipay application. */
function AlipayLink({ merchant }: { merchant?: string }) {
  const t = useT();
  const link = useLoad(() => call(api.GET("/alipay/auth/link", { params: { query: { merchant } } })), [merchant]);
  const none = link.error instanceof ApiError && link.error.status === 409;
  return (
    <Space direction="vertical">
      <Typography.Text strong>{t("Alipay mini-program")}</Typography.Text>
      {none ? (
        <Typography.Text type="secondary">{t("No Alipay application is registered")}</Typography.Text>
      ) : (
        <ErrorBox error={link.error} />
      )}
      {link.data && (
        <Space align="start">
          <Typography.Link href={link.data.url} data-testid="auth-alipay" copyable={merchant ? { text: link.data.url } : false}>
            {t("Open")}
          </Typography.Link>
          <QRCode value={link.data.url} size={120} color="#1677ff" />
        </Space>
      )}
    </Space>
  );
}

/** Staff hand one of their merchants links: what the merchant authorizes through them becomes that merchant's. */
export function MerchantLinks() {
  const t = useT();
  const [typed, setTyped] = useState("");
  const [merchant, setMerchant] = useState<string | null>(null);
  return (
    <Card title={t("Authorization links for a merchant")} size="small">
      <Space direction="vertical" style={{ width: "100%" }}>
        <Input.Search
          data-testid="link-merchant"
          placeholder={t("The merchant's account")}
          enterButton={t("Make links")}
          value={typed}
          onChange={(e) => setTyped(e.target.value)}
          onSearch={(v) => setMerchant(v.trim() || null)}
          style={{ maxWidth: 420 }}
        />
        {merchant && <Links merchant={merchant} />}
      </Space>
    </Card>
  );
}

export function AuthorizePage() {
  const t = useT();
  const { path, query } = useRoute();
  const outcome = path[0] === "authorized" ? query.get("outcome") : null;
  const appid = query.get("maAppId");
  return (
    <Space direction="vertical" style={{ width: "100%" }} size="large">
      {outcome === "authorized" && appid && (
        <Result
          status="success"
          data-testid="authorized"
          title={t("Authorized: the mini-program is yours")}
          subTitle={query.get("platform") === "alipay" ? `${t("Alipay mini-program")} ${appid}` : appid}
          extra={<Button type="primary" onClick={() => openMiniProgram(appid)}>{t("Open the mini-program")}</Button>}
        />
      )}
      {outcome === "error" && <Result status="error" title={t("Authorization failed")} subTitle={`HTTP ${query.get("status")}`} />}
      <Card title={t("Authorize a mini-program")}>
        <Links />
      </Card>
    </Space>
  );
}
