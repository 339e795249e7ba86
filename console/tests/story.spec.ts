// The seed story clicked through in a browser, then a batch release of ten mini-programs watched to completion,
// then a merchant trying to open another merchant's mini-program. The sandbox plays WeChat (the developer tool's
// upload, the reviewers); everything else is the console. Screenshots of each main page go to test-results/screens.
import { expect, test, type Page } from "@playwright/test";
import { apiAs, sandbox, seededUser, stack, unique, type User } from "./stack";
import { login, logout } from "./console";

let shots = 0;
async function shot(page: Page, name: string) {
  await page.screenshot({ path: `test-results/screens/${String(++shots).padStart(2, "0")}-${name}.png`, fullPage: true });
}

/** Clicks an action button and waits for the list it reloads: a reload answered after the action's own POST (an
 * earlier load of the page still in flight would show the state before the action). */
async function actAndReload(page: Page, button: string, reloaded: string) {
  let acted = false;
  const reload = page.waitForResponse((r) => {
    if (r.request().method() === "POST") acted = true;
    return acted && r.url().includes(reloaded) && r.request().method() === "GET";
  });
  await page.getByTestId(button).click();
  await reload;
}

/** The API's count of released mini-programs, after the overview shows the same. */
async function releasedCount(page: Page): Promise<number> {
  const { body } = await apiAs(seededUser("operator"), "GET", "/fleet/summary");
  const released = (body.releaseStates.released ?? 0) as number;
  await page.goto("/#/overview");
  if (released) await expect(page.locator("[data-count=released] .ant-statistic-content-value")).toHaveText(String(released));
  return released;
}

async function chooseOption(page: Page, select: string, text: string) {
  await page.getByTestId(select).click();
  await page.locator(".ant-select-item-option", { hasText: text }).first().click();
}

test.describe.serial("the console", () => {
  const industry = unique("Tea");
  const fleetName = unique("Fleet");
  let templateId = "";
  let merchant: User;
  let appid = "";

  test.beforeAll(async () => {
    await sandbox("/control/quota", { rest: 500, limit: 500 });
  });

  test("a developer makes a template of a draft, an operator publishes it", async ({ page }) => {
    const draft = await sandbox("/control/drafts", { userVersion: "1.0.0", userDesc: industry });
    await login(page, seededUser("developer"));
    const library = async () => (await apiAs(seededUser("developer"), "GET", "/template/library")).body.count as number;
    const inLibrary = await library();
    await page.goto(`/#/templates?industryId=${industry.toLowerCase()}`);
    await expect(page.getByTestId("library-count")).toHaveText(`${inLibrary} / 200`);
    await page.getByTestId(`make-${draft.draft_id}`).click();
    await page.getByTestId("industry-id").fill(industry.toLowerCase());
    await page.locator("#industryName").fill(industry);
    await actAndReload(page, "make-submit", "/template/list");
    const row = page.getByTestId("templates").locator("tr", { hasText: industry });
    await expect(row).toBeVisible();
    templateId = (await row.locator("td").first().innerText()).trim();
    expect(templateId).toMatch(/^it_/);
    // The draft went into WeChat's library: the count the page shows grew by one.
    await expect(page.getByTestId("library-count")).toHaveText(`${inLibrary + 1} / 200`);
    await shot(page, "templates-developer");
    await actAndReload(page, `handover-${templateId}`, "/template/list");
    await expect(row.locator("[data-status]")).toHaveAttribute("data-status", "1");
    await logout(page);

    await login(page, seededUser("operator"));
    await page.goto(`/#/templates?industryId=${industry.toLowerCase()}`);
    await page.getByTestId(`desc-${templateId}`).fill("温暖的茶馆模板");
    await actAndReload(page, `save-desc-${templateId}`, "/template/list");
    // The row shows the saved version before the next action takes it (an action names the version it read).
    const state = page.getByTestId("templates").locator("tr", { hasText: industry }).locator("[data-status]");
    await expect(state).toHaveAttribute("data-version", "3");
    // A cover: a presigned upload, then the template names it; the market shows it.
    const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");
    let named = false;
    await Promise.all([
      page.waitForResponse((r) => {
        if (r.url().includes("/template/update")) named = true;
        return named && r.url().includes("/template/list") && r.request().method() === "GET";
      }),
      page.getByTestId("templates").locator("tr", { hasText: industry }).locator("input[type=file]").setInputFiles({ name: "cover.png", mimeType: "image/png", buffer: png }),
    ]);
    await expect(state).toHaveAttribute("data-version", "4");
    await expect(page.getByTestId(`publish-${templateId}`)).toBeVisible();
    await actAndReload(page, `publish-${templateId}`, "/template/list");
    await expect(page.getByTestId("templates").locator("tr", { hasText: industry }).locator("[data-status]")).toHaveAttribute("data-status", "2");
    await shot(page, "templates-operator");
    await logout(page);
  });

  test("an invited merchant authorizes, decorates, releases, passes the audit and publishes", async ({ page }) => {
    // The admin invites the merchant; the code is shown once.
    await login(page, seededUser("admin"));
    await page.goto("/#/users");
    await page.getByTestId("invite-create").click();
    const code = (await page.getByTestId("invite-code").innerText()).trim();
    expect(code.length).toBeGreaterThan(10);
    await shot(page, "users-invitation");
    await logout(page);

    merchant = { account: unique("tea@"), password: "a-long-password-1", role: "merchant" };
    await page.goto("/#/invite");
    await page.locator("#code").fill(code);
    await page.locator("#account").fill(merchant.account);
    await page.locator("#password").fill(merchant.password);
    await page.locator("button[type=submit]").click();
    await expect(page.locator("form[data-testid=login]")).toBeVisible();
    await login(page, merchant);
    await expect(page.getByTestId("menu")).not.toContainText("批量发布");

    // WeChat's consent page (the sandbox's) sends the browser back to the console.
    await page.goto("/#/authorize");
    await page.getByTestId("auth-pc").click();
    await expect(page.getByTestId("authorized")).toBeVisible();
    appid = new URLSearchParams(page.url().split("?")[1]).get("maAppId")!;
    expect(appid).toMatch(/^wx/);
    await shot(page, "authorized");

    await page.goto(`/#/miniprograms/${appid}`);
    await page.getByRole("tab", { name: "用户隐私保护指引" }).click();
    await page.getByTestId("privacy-email").fill("owner@tea.example.com");
    await page.getByTestId("privacy-save").click();
    await expect(page.locator(".ant-message")).toContainText("完成");

    await page.goto("/#/market");
    await page.getByTestId("market-industry").locator("input").fill(industry.toLowerCase());
    await page.getByTestId("market-industry").locator("input").press("Enter");
    await shot(page, "market");
    const cover = page.getByTestId(`market-${templateId}`).locator("img");
    await expect.poll(() => cover.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(1);
    await page.getByTestId(`choose-${templateId}`).click();
    await chooseOption(page, "pick-mp", appid);
    await expect(page.getByTestId("config-theme")).toHaveValue("red");
    await page.getByTestId("config-theme").fill("gold");
    await actAndReload(page, "save-config", "/config/query");
    await expect(page.getByTestId("release-config")).toBeEnabled();
    await shot(page, "decorate");
    await actAndReload(page, "release-config", "/config/query");
    await expect(page.getByTestId("audit-status")).not.toHaveText("—");

    await sandbox("/control/audit/decide", { appid, result: "pass" });
    await page.goto(`/#/miniprograms/${appid}`);
    await expect(async () => {
      await page.getByTestId("refresh-release").click();
      await expect(page.getByTestId("release-state").locator("[data-state]")).toHaveAttribute("data-state", "passed", { timeout: 1000 });
    }).toPass({ timeout: 30_000 });
    await expect(page.getByTestId("trial-qr").locator("img")).toBeVisible();
    await page.getByTestId("act-publish").click();
    await expect(page.getByTestId("release-state").locator("[data-state]")).toHaveAttribute("data-state", "released");
    await page.getByRole("button", { name: "重新检查" }).click();
    await expect(page.getByTestId("readiness")).toContainText("已备案");
    await expect(page.getByTestId("readiness")).toContainText("已设置");
    await shot(page, "miniprogram-released");
    await page.goto("/#/miniprograms");
    const row = page.getByTestId("mp-table").locator("tr", { hasText: appid });
    await expect(row).toContainText("1.0.0");
    // The publish checked the ICP filing; the privacy contact was set above.
    await expect(row).toContainText("已备案");
    await expect(row).toContainText("已设置");
    await shot(page, "miniprograms-merchant");

    // A shop names the merchant's business.
    await page.goto("/#/shops");
    await page.getByTestId("shop-name").fill("安茶 Tea House");
    await page.getByTestId("shop-create").click();
    await expect(page.getByTestId("shops").locator("input[value='安茶 Tea House']")).toBeVisible();
  });

  test("an operator releases the template to ten mini-programs and watches the batch complete", async ({ page }) => {
    const fleet: string[] = [];
    for (let i = 0; i < 10; i++) {
      const out = await sandbox("/control/authorize", { nickName: `${fleetName}-${i}` });
      await sandbox("/control/privacy", { appid: out.authorizerAppid, ownerSetting: { contact_phone: "13800000000", notice_method: "公告" } });
      fleet.push(out.authorizerAppid);
    }
    await login(page, seededUser("operator"));
    // The operator can hand the merchant links too: a PC link and the H5 QR code for that merchant.
    await page.goto("/#/components");
    await page.getByTestId("link-merchant").locator("input").fill(merchant.account);
    await Promise.all([
      page.waitForResponse((r) => r.url().includes("/auth/link") && r.url().includes("kind=h5") && r.status() === 200),
      page.getByTestId("link-merchant").locator("input").press("Enter"),
    ]);
    await expect(page.getByTestId("auth-h5")).toBeVisible();
    await expect(page.getByTestId("auth-pc")).toHaveAttribute("href", /pre_auth_code=/);
    // And register a server domain for the platform: it shows among the testing ones.
    const host = `${unique("api").toLowerCase()}.tea.example.com`;
    await page.getByPlaceholder("api.shop.example.com").fill(host);
    await page.getByTestId("domain-add").click();
    await expect(page.getByTestId("component-domains")).toContainText(host);
    await shot(page, "components-links");
    const releasedBefore = await releasedCount(page);
    await page.goto(`/#/miniprograms?search=${fleetName}`);
    await expect(page.getByTestId("mp-table").locator("tbody tr.ant-table-row")).toHaveCount(10);
    await shot(page, "miniprograms-operator");

    await page.goto("/#/batches");
    await page.getByTestId("batch-industry").locator("input").fill(industry.toLowerCase());
    await page.getByTestId("batch-industry").locator("input").press("Enter");
    await chooseOption(page, "batch-template", templateId);
    await page.getByTestId("batch-version").fill("1.1.0");
    await page.getByTestId("batch-search").locator("input").fill(fleetName);
    await page.getByTestId("batch-search").locator("input").press("Enter");
    await expect(page.getByTestId("batch-select-shown")).toContainText("10");
    await page.getByTestId("batch-select-shown").click();
    await page.getByTestId("batch-start").click();
    await expect(page).toHaveURL(/#\/batches\/[0-9a-f]+/);

    // WeChat's reviewers pass each audit as it is submitted; the page follows by itself.
    const passed = new Set<string>();
    await expect(async () => {
      for (const a of fleet.filter((x) => !passed.has(x))) {
        const r = await fetch(`${stack.SANDBOX_URL}/control/audit/decide`, { method: "POST", body: JSON.stringify({ appid: a, result: "pass" }) });
        if (r.ok) passed.add(a);
      }
      await expect(page.getByTestId("batch-state").locator("[data-state]")).toHaveAttribute("data-state", "completed", { timeout: 1000 });
    }).toPass({ timeout: 180_000, intervals: [1000] });
    await expect(page.locator("[data-count=released]")).toContainText("10");
    await expect(page.getByTestId("batch-progress")).toContainText("10 / 10");
    await shot(page, "batch-completed");

    // The overview counts them among the released, exactly.
    expect(await releasedCount(page)).toBe(releasedBefore + 10);
    await shot(page, "overview");

    // The component's event feed has the batch's end, newest first.
    await page.goto("/#/records");
    await expect(page.getByTestId("events")).toContainText("BatchCompleted");
    await shot(page, "events");
    await logout(page);
  });

  test("a merchant cannot open another merchant's mini-program nor a provider page", async ({ page }) => {
    const other = seededUser("merchant");
    const link = await apiAs(other, "GET", "/auth/link?kind=pc");
    const consent = await fetch(link.body.url);
    const othersAppid = (await consent.json()).frontend.maAppId as string;
    expect(othersAppid).toMatch(/^wx/);

    await login(page, merchant);
    await page.goto(`/#/miniprograms/${othersAppid}`);
    await expect(page.getByTestId("error").first()).toContainText(/403|404/);
    await expect(page.getByTestId("release-state").locator("[data-state]")).toHaveAttribute("data-state", "none");
    await shot(page, "merchant-refused");
    await page.goto("/#/miniprograms");
    await expect(page.getByTestId("mp-table")).toContainText(appid);
    await expect(page.getByTestId("mp-table")).not.toContainText(othersAppid);
    await page.goto("/#/batches");
    await expect(page.getByTestId("forbidden")).toBeVisible();
  });
});
