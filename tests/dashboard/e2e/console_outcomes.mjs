// Learning from outcomes on the console (issue 16, item 5), in headless Chromium (Debian's, driven by
// playwright-core from dashboard/web): a fall alert lowered by the resident's history shows why, in Chinese
// and in English, and resolving a fall asks whether the resident really fell ("false alarm" clears that box).
// Run by tests/dashboard/test_console_outcomes.py: "do fall_r1" asks it to raise the alert; it answers
// "done"; the last line is a JSON result.
import { createRequire } from "node:module";
import { createInterface } from "node:readline";

const require = createRequire(`${process.env.ANXIN_WEB}/package.json`);
const { chromium } = require("playwright-core");
const BASE = process.env.BASE_URL;
const SHOTS = process.env.SHOTS;
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const result = { shots: [], errors: [] };

async function ask(action) {
  console.log(`do ${action}`);
  const answer = await lines.next();
  if (answer.value !== "done") throw new Error(`the test did not do ${action}: ${answer.value}`);
}

async function shot(page, name) {
  await page.waitForTimeout(250);
  await page.screenshot({ path: `${SHOTS}/${name}.png` });
  result.shots.push(name);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: "zh-CN", timezoneId: "Asia/Shanghai" });
  const page = await context.newPage();
  page.on("pageerror", (error) => result.errors.push(error.message));
  await page.goto(`${BASE}/login`);
  await page.fill("input[name=username]", "operator");
  await page.fill("input[name=password]", process.env.PASSWORD);
  await page.click("[data-testid=login-submit]");
  await page.waitForFunction(() => window.anxinReady === true, null, { timeout: 45000 });
  await page.waitForFunction(() => document.getElementById("live-status").classList.contains("up"));

  await ask("fall_r1");
  const item = page.locator("[data-testid=queue-item][data-resident-id=r1]:not([data-provisional])");
  await item.waitFor({ timeout: 15000 });
  await item.click();
  const explanation = page.locator("[data-testid=case-explanation]");
  await explanation.waitFor();
  result.zh = { explanation: await explanation.textContent(), severity: await page.locator("#case-head .sev").textContent() };
  await shot(page, "console-lowered-fall-zh");

  await page.click("#locale-switch");
  await page.waitForFunction(() => window.anxinReady === true && document.documentElement.lang === "en");
  await item.click();
  await explanation.waitFor();
  result.en = { explanation: await explanation.textContent(), severity: await page.locator("#case-head .sev").textContent() };
  await shot(page, "console-lowered-fall-en");

  await page.click("[data-testid=case-ack]");
  await page.waitForSelector("[data-testid=case-state][data-state=acknowledged]", { timeout: 15000 });
  await page.click("[data-testid=case-resolve]");
  const box = page.locator("[data-testid=real-fall]");
  await box.waitFor();
  await box.check();
  await page.check("[data-testid=outcome-false_alarm]");  // a false alarm says they did not fall
  result.afterFalseAlarm = { checked: await box.isChecked(), disabled: await box.isDisabled() };
  await page.check("[data-testid=outcome-minor_injury]");
  result.afterInjury = { disabled: await box.isDisabled() };
  await box.check();
  await shot(page, "console-real-fall-en");
  await page.click("[data-testid=close-next]");
  await page.locator("[data-testid=close-confirm]").waitFor();
  result.confirmText = await page.locator("[data-testid=close-confirm-text]").textContent();
  await page.click("[data-testid=close-confirm-button]");
  await page.waitForSelector("[data-testid=case-state][data-state=resolved]", { timeout: 15000 });
  result.ok = true;
} catch (error) {
  result.ok = false;
  result.error = String(error.stack || error);
} finally {
  await browser.close();
  console.log(JSON.stringify(result));
  process.exit(0);
}
