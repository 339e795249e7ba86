// Logging in and out through the console's own form, as a person would.
import { expect, type Page } from "@playwright/test";
import type { User } from "./stack";

export async function login(page: Page, user: User) {
  await page.goto("/#/login");
  await page.locator("#account").fill(user.account);
  await page.locator("#password").fill(user.password);
  await page.locator("form[data-testid=login] button[type=submit]").click();
  await expect(page.getByTestId("whoami")).toContainText(user.account);
}

export async function logout(page: Page) {
  await page.keyboard.press("Escape");
  await page.getByTestId("logout").click();
  await expect(page.locator("form[data-testid=login]")).toBeVisible();
}
