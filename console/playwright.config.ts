// Browser tests against the running local stack (`make up`; `make test` starts one), in Debian's Chromium.
import { defineConfig } from "@playwright/test";
import { stack } from "./tests/stack";

export default defineConfig({
  testDir: "tests",
  timeout: 240_000,
  expect: { timeout: 20_000 },
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    baseURL: stack.CONSOLE_URL,
    viewport: { width: 1280, height: 860 },
    locale: "zh-CN",
    screenshot: "only-on-failure",
    actionTimeout: 30_000,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      // The machine has no network but loopback: no background connections, no sandbox as root.
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
});
