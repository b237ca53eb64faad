/**
 * The leaderboard in a real browser: Debian's headless Chromium driven by playwright-core opens
 * the leaderboard, a run page, a task and a comparison served on loopback, checks what a person
 * sees, and writes a screenshot of each page to `.ppocoder/screenshots/` (or
 * `$PPOCODER_SCREENSHOTS`). Ignored, with the reason printed, where Chromium is not installed
 * (`apt-get install chromium`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createApp } from "../../src/leaderboard/app.ts";
import { createFolderStore } from "../../src/report/store.ts";
import { copyFixtures, writeModelZoo } from "./report_fixtures.ts";

const CHROMIUM = Deno.env.get("PPOCODER_CHROMIUM") ?? "/usr/bin/chromium";
const SCREENSHOTS = Deno.env.get("PPOCODER_SCREENSHOTS") ??
  fileURLToPath(new URL("../../.ppocoder/screenshots", import.meta.url));
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.log(
    `browser_test.ts is ignored: no Chromium at "${CHROMIUM}" (apt-get install chromium)`,
  );
}

/** The few playwright-core calls used here (loaded at run time, so the file type-checks alone). */
interface Locator {
  textContent(): Promise<string | null>;
  allTextContents(): Promise<string[]>;
  count(): Promise<number>;
  first(): Locator;
  click(): Promise<void>;
  selectOption(value: string): Promise<unknown>;
}
interface Page {
  goto(url: string): Promise<unknown>;
  title(): Promise<string>;
  url(): string;
  locator(selector: string, options?: { hasText?: string }): Locator;
  getByRole(role: string, options: { name: string; exact?: boolean }): Locator;
  waitForURL(pattern: RegExp): Promise<void>;
  screenshot(options: { path: string; fullPage: boolean }): Promise<unknown>;
  on(event: "dialog" | "pageerror", handler: (value: unknown) => void): void;
}
interface Browser {
  newPage(options: { viewport: { width: number; height: number } }): Promise<Page>;
  close(): Promise<void>;
}

async function launch(): Promise<Browser> {
  const specifier = "playwright-core";
  const { chromium } = await import(specifier);
  return await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
}

Deno.test({
  name: "leaderboard in headless Chromium",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const reports = await copyFixtures();
    await writeModelZoo(reports);
    const app = createApp(createFolderStore(reports));
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
    const base = `http://127.0.0.1:${server.addr.port}`;
    await Deno.mkdir(SCREENSHOTS, { recursive: true });
    const browser = await launch();
    const alerts: unknown[] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.on("dialog", (dialog) => alerts.push(dialog));
      const shot = (name: string) =>
        page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
      const text = async (selector: string, hasText?: string) =>
        (await page.locator(selector, hasText ? { hasText } : {}).first().textContent())?.trim();

      await t.step("the leaderboard ranks the runs and lists the unreadable report", async () => {
        await page.goto(`${base}/`);
        assert.equal(await page.title(), "Leaderboard · ppocoder leaderboard");
        assert.match((await text("h2"))!, /^apps\s+1 run in 1 group of comparable runs$/);
        assert.match((await text("tr", "2026-11-01T09-00-00Z-reference"))!, /^1\s/);
        assert.match((await text(".error"))!, /1 report could not be read/);
        await shot("leaderboard");
      });

      await t.step("groups are titled in words, the largest first, ties share a rank", async () => {
        await page.goto(`${base}/benchmarks/mbpp`);
        const titles = await page.locator("h3.group").allTextContents();
        assert.deepEqual(titles.map((t) => t.trim()), [
          "split test · 20 tasks · n=1 · pass@1 · limits 10 s wall",
          "split test · 20 tasks · n=1 · pass@1 · limits 4 s wall",
          "split test · 20 tasks · n=5 · pass@1, pass@5 · limits 10 s wall",
        ]);
        assert.match(
          (await text("tr", "qwen-completions"))!,
          /^3\s+openai:qwen2\.5-coder-7b \(completions\)/,
        );
        assert.match(
          (await text("tr", "-deepseek"))!,
          /^3\s+openai:deepseek-coder-6\.7b \(completions\)/,
        );
        assert.match((await text("tr", "qwen-chat "))!, /^2\s+openai:qwen2\.5-coder-7b \(chat\)/);
        assert.match((await text("tr", "qwen-chat"))!, /70\.0%\s+48\.1% – 85\.5%/);
        assert.equal(await page.locator("svg.chart title", { hasText: "over time" }).count(), 0);
        assert.equal(
          await text("svg.chart title", "with 95% intervals"),
          "pass@1 with 95% intervals",
        );
        await shot("leaderboard-mbpp");
      });

      await t.step("a group with several languages compares models per language", async () => {
        await page.goto(`${base}/benchmarks/xlcost`);
        assert.equal(
          await text("svg.chart > title", "by language"),
          "compile_rate by language, top 4 runs",
        );
        await shot("leaderboard-xlcost");
      });

      await t.step("a run page shows metrics with intervals and filters tasks", async () => {
        await page.goto(`${base}/`);
        await page.getByRole("link", { name: "2026-11-02T14-30-00Z-tiny-gpt2", exact: true })
          .click();
        await page.waitForURL(/\/runs\/mbpp\/2026-11-02T14-30-00Z-tiny-gpt2$/);
        assert.equal(await text("h1"), "2026-11-02T14-30-00Z-tiny-gpt2");
        assert.match((await text("tr", "pass@1"))!, /40\.0%\s+21\.9% – 61\.3%/);
        await shot("run");
        await page.locator('select[name="status"]').selectOption("failed");
        await page.getByRole("button", { name: "Filter" }).click();
        await page.waitForURL(/status=failed/);
        assert.match((await text("p", "tasks match"))!, /^4 tasks match/);
      });

      await t.step("a task shows hostile model output as text, and runs none of it", async () => {
        await page.getByRole("link", { name: "mbpp/12" }).click();
        await page.waitForURL(/\/task\?id=mbpp%2F12$/);
        assert.match((await text("pre"))!, /<\/pre><script>alert\('pwned'\)<\/script>/);
        assert.equal(await page.locator("script").count(), 0);
        assert.equal(await page.locator("main img").count(), 0);
        assert.equal(alerts.length, 0);
        await shot("task");
      });

      await t.step("a comparison shows the flipped tasks and the paired test", async () => {
        await page.goto(`${base}/runs/mbpp/2026-11-02T14-30-00Z-tiny-gpt2`);
        await page.getByRole("button", { name: "Compare" }).click();
        await page.waitForURL(/\/compare\?a=/);
        assert.equal(await text("h3", "Better in B"), "Better in B on pass@1 (12)");
        assert.match((await text("tr", "exact McNemar"))!, /pass@1\s+40\.0%\s+95\.0%/);
        await shot("compare");
      });

      await t.step("runs that are not comparable are refused with the reason", async () => {
        await page.goto(
          `${base}/compare?a=mbpp/2026-11-01T09-00-00Z-reference&b=mbpp/2026-11-03T08-15-00Z-tiny-gpt2-n5`,
        );
        assert.match((await text(".error"))!, /These runs cannot be compared/);
        await shot("compare-refused");
      });
      console.log(`screenshots: ${SCREENSHOTS}`);
    } finally {
      await browser.close();
      await server.shutdown();
      await Deno.remove(reports, { recursive: true });
    }
  },
});
