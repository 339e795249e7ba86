// The shell: language, login state, a menu of what the user's role may open, and the page the hash names.
import { useState, useSyncExternalStore, type ReactNode } from "react";
import { App as AntApp, Button, ConfigProvider, Layout, Menu, Result, Segmented, Space, Tag, Typography, Grid } from "antd";
import zhCN from "antd/locale/zh_CN";
import enUS from "antd/locale/en_US";
import { LangContext, initialLang, translate, type Lang } from "./i18n";
import { session, type Role } from "./session";
import { go, useRoute } from "./route";
import { LoginPage, InvitePage, SignupPage, PasswordPage } from "./pages/Account";
import { OverviewPage } from "./pages/Overview";
import { ComponentsPage } from "./pages/Components";
import { MiniProgramsPage } from "./pages/MiniPrograms";
import { MiniProgramPage } from "./pages/MiniProgram";
import { TemplatesPage } from "./pages/Templates";
import { MarketPage } from "./pages/Market";
import { DecoratePage } from "./pages/Decorate";
import { AuthorizePage } from "./pages/Authorize";
import { BatchesPage } from "./pages/Batches";
import { BatchPage } from "./pages/Batch";
import { UsersPage } from "./pages/Users";
import { RecordsPage } from "./pages/Records";
import { ShopsPage } from "./pages/Shops";
import { RegisterPage } from "./pages/Register";

interface Page {
  key: string;
  label: string;
  roles: Role[];
  menu: boolean;
  render: (path: string[]) => ReactNode;
}

const PAGES: Page[] = [
  { key: "overview", label: "Overview", roles: ["admin", "developer", "operator"], menu: true, render: () => <OverviewPage /> },
  { key: "components", label: "Components", roles: ["admin", "developer", "operator"], menu: true, render: () => <ComponentsPage /> },
  {
    key: "miniprograms",
    label: "Mini-programs",
    roles: ["admin", "operator", "merchant"],
    menu: true,
    render: (p) => (p[1] ? <MiniProgramPage appid={p[1]} /> : <MiniProgramsPage />),
  },
  { key: "authorize", label: "Authorize a mini-program", roles: ["merchant"], menu: true, render: () => <AuthorizePage /> },
  { key: "register", label: "Register a mini-program", roles: ["merchant", "operator"], menu: true, render: () => <RegisterPage /> },
  { key: "shops", label: "Shops", roles: ["merchant"], menu: true, render: () => <ShopsPage /> },
  { key: "authorized", label: "Authorize a mini-program", roles: ["merchant"], menu: false, render: () => <AuthorizePage /> },
  { key: "templates", label: "Templates", roles: ["admin", "developer", "operator"], menu: true, render: () => <TemplatesPage /> },
  { key: "market", label: "Template market", roles: ["admin", "operator", "merchant"], menu: true, render: () => <MarketPage /> },
  { key: "decorate", label: "Decorate", roles: ["operator", "merchant"], menu: true, render: () => <DecoratePage /> },
  {
    key: "batches",
    label: "Batch release",
    roles: ["operator"],
    menu: true,
    render: (p) => (p[1] ? <BatchPage batchId={p[1]} /> : <BatchesPage />),
  },
  { key: "records", label: "Messages and forwarding", roles: ["admin", "developer", "operator"], menu: true, render: () => <RecordsPage /> },
  { key: "users", label: "Users", roles: ["admin"], menu: true, render: () => <UsersPage /> },
  { key: "password", label: "Change password", roles: ["admin", "developer", "operator", "merchant"], menu: false, render: () => <PasswordPage /> },
];

const HOME: Record<Role, string> = { admin: "overview", developer: "templates", operator: "miniprograms", merchant: "miniprograms" };

export function Root() {
  const [lang, setLang] = useState<Lang>(initialLang);
  const switchLang = (l: Lang) => {
    localStorage.setItem("wxtpl.lang", l);
    document.documentElement.lang = l === "zh" ? "zh-CN" : "en";
    setLang(l);
  };
  return (
    <LangContext.Provider value={lang}>
      <ConfigProvider locale={lang === "zh" ? zhCN : enUS} theme={{ token: { colorPrimary: "#07c160" } }}>
        <AntApp>
          <Shell lang={lang} setLang={switchLang} />
        </AntApp>
      </ConfigProvider>
    </LangContext.Provider>
  );
}

function Shell({ lang, setLang }: { lang: Lang; setLang: (l: Lang) => void }) {
  const user = useSyncExternalStore(session.subscribe, session.get);
  const route = useRoute();
  const t = (s: string) => translate(lang, s);
  const screens = Grid.useBreakpoint();
  const langSwitch = (
    <Segmented
      size="small"
      data-testid="lang"
      value={lang}
      onChange={(v) => setLang(v as Lang)}
      options={[
        { label: "中文", value: "zh" },
        { label: "EN", value: "en" },
      ]}
    />
  );
  const head = route.path[0] ?? "";

  if (!user) {
    const page = head === "invite" ? <InvitePage /> : head === "signup" ? <SignupPage /> : <LoginPage />;
    return (
      <Layout style={{ minHeight: "100vh", alignItems: "center", paddingTop: "8vh" }}>
        <Space direction="vertical" style={{ width: "min(420px, 92vw)" }}>
          <Space style={{ justifyContent: "space-between", width: "100%" }}>
            <Typography.Title level={3} style={{ margin: 0 }}>
              {t("Template platform console")}
            </Typography.Title>
            {langSwitch}
          </Space>
          {page}
        </Space>
      </Layout>
    );
  }

  const allowed = PAGES.filter((p) => p.roles.includes(user.role));
  const page = head ? PAGES.find((p) => p.key === head) : allowed.find((p) => p.key === HOME[user.role]);
  let body: ReactNode;
  if (!page) body = <Result status="404" title="404" />;
  else if (!page.roles.includes(user.role)) body = <Result status="403" title={t("Not allowed")} data-testid="forbidden" />;
  else body = page.render(route.path);
  const narrow = !screens.md;

  return (
    <Layout style={{ minHeight: "100vh" }}>
      <Layout.Header style={{ display: "flex", alignItems: "center", gap: 16, background: "#fff", paddingInline: narrow ? 12 : 24, borderBottom: "1px solid #eee", flexWrap: "wrap", height: "auto", lineHeight: "48px" }}>
        <Typography.Text strong style={{ fontSize: 16 }}>
          {t("Template platform console")}
        </Typography.Text>
        <span style={{ flex: 1 }} />
        <Space wrap>
          <Tag color="green" data-testid="whoami">
            {user.account} · {t(user.role)}
          </Tag>
          {user.componentAppid && !narrow && <Tag>{user.componentAppid}</Tag>}
          {langSwitch}
          <Button size="small" onClick={() => go("/password")}>
            {t("Change password")}
          </Button>
          <Button size="small" data-testid="logout" onClick={() => session.set(null)}>
            {t("Log out")}
          </Button>
        </Space>
      </Layout.Header>
      <Layout>
        {!narrow && (
          <Layout.Sider width={200} theme="light">
            <Menu
              mode="inline"
              data-testid="menu"
              selectedKeys={[page?.key ?? ""]}
              items={allowed.filter((p) => p.menu).map((p) => ({ key: p.key, label: t(p.label) }))}
              onClick={(e) => go(`/${e.key}`)}
            />
          </Layout.Sider>
        )}
        <Layout.Content style={{ padding: narrow ? 12 : 24, minWidth: 0 }}>
          {narrow && (
            <Menu
              mode="horizontal"
              selectedKeys={[page?.key ?? ""]}
              items={allowed.filter((p) => p.menu).map((p) => ({ key: p.key, label: t(p.label) }))}
              onClick={(e) => go(`/${e.key}`)}
              style={{ marginBottom: 12 }}
            />
          )}
          {body}
        </Layout.Content>
      </Layout>
    </Layout>
  );
}
