// Alipay in the console: the admin registers the workspace's Alipay application (its keys typed in, never shown
// again), and a merchant authorizes an Alipay mini-program through Alipay's consent page (the sandbox's).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { expect, test } from "@playwright/test";
import { apiAs, sandbox, seededUser, stack, unique } from "./stack";
import { login, logout } from "./console";

const keys = JSON.parse(
  readFileSync(join(dirname(fileURLToPath(import.meta.url)), "..", "..", ".local", "alipay-app.json"), "utf8"),
) as { appId: string; privateKey: string; alipayPublicKey: string };

test("an admin registers the Alipay application and a merchant authorizes an Alipay mini-program", async ({ page }) => {
  const merchant = { account: unique("ali@"), password: "a-long-password-1", role: "merchant" };
  const made = await apiAs(seededUser("admin"), "POST", "/user/create", { ...merchant, components: [stack.COMPONENT_APPID] });
  expect(made.status).toBe(201);

  await login(page, seededUser("admin"));
  await page.goto("/#/components");
  await page.getByTestId("alipay-app-id").fill(keys.appId);
  await page.getByTestId("alipay-private-key").fill(keys.privateKey);
  await page.getByTestId("alipay-public-key").fill(keys.alipayPublicKey);
  await Promise.all([
    page.waitForResponse((r) => r.url().includes("/alipay/app/register") && r.status() < 300),
    page.getByTestId("alipay-register").click(),
  ]);
  // The form forgets the keys once they are kept.
  await expect(page.getByTestId("alipay-private-key")).toHaveValue("");
  await page.screenshot({ path: "test-results/screens/alipay-application.png", fullPage: true });
  await logout(page);

  await login(page, merchant);
  await page.goto("/#/authorize");
  await expect(page.getByTestId("auth-alipay")).toHaveAttribute("href", /appToAppAuth\.htm\?app_id=/);
  await page.getByTestId("auth-alipay").click();
  await expect(page.getByTestId("authorized")).toBeVisible();
  const query = new URLSearchParams(page.url().split("?")[1]);
  expect(query.get("platform")).toBe("alipay");
  expect(query.get("maAppId")).toMatch(/^\d{16}$/);
  await page.screenshot({ path: "test-results/screens/alipay-authorized.png", fullPage: true });

  // The merchant finds it among its mini-programs and renames it at Alipay.
  const miniAppId = query.get("maAppId")!;
  // "Open the mini-program" leads to its Alipay page (base info and release), not WeChat's.
  await page.getByTestId("authorized").getByRole("button").click();
  await expect(page.getByTestId("alipay-table")).toContainText(miniAppId);
  await expect(page.getByTestId("alipay-name")).toHaveValue(/店铺/);
  await page.getByTestId("alipay-name").fill("安茶 Alipay");
  await Promise.all([
    page.waitForResponse((r) => r.url().includes("/alipay/baseinfo/modify") && r.status() === 200),
    page.getByTestId("alipay-save").click(),
  ]);
  await expect(page.getByTestId("alipay-name")).toHaveValue("安茶 Alipay");
  await page.screenshot({ path: "test-results/screens/alipay-base-info.png", fullPage: true });

  // The merchant decorates it from the Alipay list and releases it through the same page as a WeChat one.
  const industry = unique("AliTea");
  const developer = seededUser("developer");
  const draft = (await sandbox("/control/drafts", {})).draft_id;
  const released = await apiAs(developer, "POST", "/draft/release", {
    draftId: draft, industryId: industry.toLowerCase(), industryName: industry, config: { theme: "red" },
    pages: [{ pageKey: "home", name: "Home", config: {} }],
  });
  expect(released.status).toBe(201);
  const id = released.body.template.id as string;
  expect((await apiAs(developer, "POST", "/template/update", { id, version: 1, alipay: { templateId: "2021000000000001" } })).status).toBe(200);
  expect((await apiAs(developer, "POST", "/template/handover", { id, version: 2 })).status).toBe(200);
  expect((await apiAs(seededUser("operator"), "POST", "/template/release", { id, version: 3 })).status).toBe(200);
  const phone = await apiAs(merchant, "POST", "/alipay/baseinfo/modify", { miniAppId, servicePhone: "0571-88886666" });
  expect(phone.status).toBe(200);

  await page.keyboard.press("Escape");
  await page.getByTestId(`alipay-decorate-${miniAppId}`).click();
  await page.getByTestId("pick-template").click();
  await page.locator(".ant-select-item-option", { hasText: industry }).first().click();
  await expect(page.getByTestId("config-theme")).toHaveValue("red");
  await page.getByTestId("config-theme").fill("jade");
  await Promise.all([page.waitForResponse((r) => r.url().includes("/config/query") && r.request().method() === "GET"), page.getByTestId("save-config").click()]);
  await Promise.all([
    page.waitForResponse((r) => r.url().includes("/code/release") && r.status() === 200, { timeout: 20_000 }),
    page.getByTestId("release-config").click(),
  ]);
  await expect(page.getByTestId("audit-status")).not.toHaveText("—");
  await page.screenshot({ path: "test-results/screens/alipay-decorated.png", fullPage: true });
  await page.goto("/#/miniprograms");
  await expect(page.getByTestId("alipay-table").locator("[data-state]").first()).toHaveAttribute("data-state", /building|auditing/);

  // Alipay passes the audit; the merchant publishes from the Alipay mini-program's release tab.
  const decided = await fetch(`${stack.ALIPAY_SANDBOX_URL}/control/audit/decide`, {
    method: "POST",
    body: JSON.stringify({ miniAppId, result: "pass" }),
  });
  expect(decided.ok).toBe(true);
  await page.getByTestId(`alipay-open-${miniAppId}`).click();
  await page.getByTestId("alipay-release-tab").click();
  await expect(async () => {
    await page.getByTestId("refresh-release").click();
    await expect(page.getByTestId("release-state").locator("[data-state]")).toHaveAttribute("data-state", "passed", { timeout: 1000 });
  }).toPass({ timeout: 30_000 });
  await expect(page.getByTestId("trial-qr").locator("img")).toBeVisible();
  await page.getByTestId("act-publish").click();
  await expect(page.getByTestId("release-state").locator("[data-state]")).toHaveAttribute("data-state", "released");
  await page.screenshot({ path: "test-results/screens/alipay-released.png", fullPage: true });
});

test("a developer makes a template from an Alipay template alone", async ({ page }) => {
  const industry = unique("AliOnly");
  await login(page, seededUser("developer"));
  await page.goto("/#/templates");
  await page.getByTestId("make-alipay").click();
  await page.getByTestId("industry-id").fill(industry.toLowerCase());
  await page.locator("#industryName").fill(industry);
  await page.getByTestId("alipay-template-id").fill(String(Date.now()).padStart(16, "9"));
  const [made] = await Promise.all([
    page.waitForResponse((r) => r.url().includes("/draft/release") && r.request().method() === "POST"),
    page.getByTestId("make-submit").click(),
  ]);
  expect(made.status()).toBe(201);
  const template = (await made.json()).template;
  expect(template.templateId).toBeNull();
  await expect(page.getByTestId("templates")).toContainText(template.id);
  await logout(page);
});
