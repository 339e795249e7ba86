// Every page and every tab of the mini-program page opens without a script error, for each role that may open it
// (a mini-program with a tester and a violation on record, which its tabs show); a screenshot of each is kept.
import { expect, test, type Page } from "@playwright/test";
import { apiAs, sandbox, seededUser } from "./stack";
import { login } from "./console";

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  return errors;
}

const PAGES: Record<string, string[]> = {
  admin: ["overview", "components", "miniprograms", "market", "records", "users", "password"],
  developer: ["overview", "components", "templates", "records"],
  operator: ["overview", "components", "miniprograms", "templates", "market", "decorate", "register", "batches", "records"],
  merchant: ["miniprograms", "authorize", "register", "shops", "market", "decorate"],
};

for (const [role, pages] of Object.entries(PAGES)) {
  test(`every page of the ${role} opens`, async ({ page }) => {
    const errors = watchErrors(page);
    await login(page, seededUser(role));
    for (const key of pages) {
      await page.goto(`/#/${key}`);
      await page.waitForLoadState("networkidle");
      await expect(page.getByTestId("forbidden")).toHaveCount(0);
      await page.screenshot({ path: `test-results/screens/page-${role}-${key}.png`, fullPage: true });
    }
    expect(errors).toEqual([]);
  });
}

test("every tab of a mini-program's page opens for its merchant", async ({ page }) => {
  const merchant = seededUser("merchant");
  const link = await apiAs(merchant, "GET", "/auth/link?kind=pc");
  const appid = (await (await fetch(link.body.url)).json()).frontend.maAppId as string;
  await sandbox("/control/violation", { appid, reason: "测试违规" });
  const bound = await apiAs(merchant, "POST", "/tester/bind", { maAppId: appid, wechatId: "tester_one" });
  expect(bound.status).toBe(200);
  const errors = watchErrors(page);
  await login(page, seededUser("merchant"));
  await page.goto(`/#/miniprograms/${appid}`);
  for (const tab of await page.getByRole("tab").all()) {
    await tab.click();
    await page.waitForLoadState("networkidle");
    await page.screenshot({ path: `test-results/screens/tab-${(await tab.innerText()).trim()}.png`, fullPage: true });
  }
  await expect(page.getByRole("tab")).toHaveCount(9);
  // The tabs show what the API answers: the tester bound above, the violation on record.
  await page.getByRole("tab", { name: "体验者" }).click();
  await expect(page.getByRole("tabpanel")).toContainText("tester_one");
  await page.getByRole("tab", { name: "违规记录" }).click();
  await expect(page.getByRole("tabpanel")).toContainText("测试违规");
  expect(errors).toEqual([]);
});
