// The shell around every page: the merchant's pages on a phone, English one click away, the token kept in the tab's
// session storage only, and a refused action shown with the API's code and message.
import { expect, test } from "@playwright/test";
import { seededUser, unique } from "./stack";
import { login } from "./console";

test("a merchant's pages fit a phone's width", async ({ browser }) => {
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await phone.newPage();
  await login(page, seededUser("merchant"));
  for (const hash of ["miniprograms", "authorize", "market", "decorate", "password"]) {
    await page.goto(`/#/${hash}`);
    await page.waitForLoadState("networkidle");
    const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    expect(scroll, `#/${hash} is wider than the phone`).toBeLessThanOrEqual(width + 1);
    await page.screenshot({ path: `test-results/screens/phone-${hash}.png`, fullPage: true });
  }
  await phone.close();
});

test("the token lives in the tab's session storage only, and logging out drops it", async ({ page }) => {
  await login(page, seededUser("operator"));
  const stored = await page.evaluate(() => ({
    session: sessionStorage.getItem("wxtpl.session") ?? "",
    local: JSON.stringify({ ...localStorage }),
    cookie: document.cookie,
  }));
  const token = JSON.parse(stored.session).token as string;
  expect(token.split(".")).toHaveLength(3);
  expect(stored.local).not.toContain(token);
  expect(stored.cookie).toBe("");
  expect(page.url()).not.toContain(token);
  await page.getByTestId("logout").click();
  await expect(page.locator("form[data-testid=login]")).toBeVisible();
  expect(await page.evaluate(() => sessionStorage.getItem("wxtpl.session"))).toBeNull();
});

test("English is one click away and stays chosen", async ({ page }) => {
  await login(page, seededUser("operator"));
  await expect(page.getByTestId("menu")).toContainText("批量发布");
  await page.getByTestId("lang").getByText("EN").click();
  await expect(page.getByTestId("menu")).toContainText("Batch release");
  await page.reload();
  await expect(page.getByTestId("menu")).toContainText("Batch release");
  await page.getByTestId("lang").getByText("中文").click();
  await expect(page.getByTestId("menu")).toContainText("批量发布");
});

test("a refused action shows the API's code and message", async ({ page }) => {
  await login(page, seededUser("merchant"));
  await page.goto("/#/authorize");
  await page.getByTestId("auth-pc").click();
  await expect(page.getByTestId("authorized")).toBeVisible();
  const appid = new URLSearchParams(page.url().split("?")[1]).get("maAppId")!;
  await page.goto(`/#/miniprograms/${appid}`);
  // Nothing was ever released: WeChat is not asked and the API says why.
  await page.getByTestId("act-publish").click();
  await expect(page.locator(".api-error")).toContainText("409");
  await expect(page.locator(".api-error")).toContainText("CONFLICT");
});

test("a provider signs up through the console and logs in as its first admin", async ({ page }) => {
  const admin = { account: unique("founder@"), password: "a-long-password-2", role: "admin" };
  await page.goto("/#/signup");
  await page.locator("#name").fill("Oak Shops 橡树");
  await page.locator("#account").fill(admin.account);
  await page.locator("#password").fill(admin.password);
  await page.locator("button[type=submit]").click();
  await expect(page.locator("form[data-testid=login]")).toBeVisible();
  await login(page, admin);
  await expect(page.getByTestId("whoami")).toContainText("管理员");
});
