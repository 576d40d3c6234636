// The family's phone (390x844) after an SOS was handled: the alert shows as over, its story opens, and
// "my messages" lists the all clear sent to this family member. Prints one JSON line; screenshots to SHOTS.
import { createRequire } from "node:module";

const require = createRequire(`${process.env.ANXIN_WEB}/package.json`);
const { chromium } = require("playwright-core");
const BASE = process.env.BASE_URL;
const result = {};
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });

async function look(locale) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale, timezoneId: "Asia/Shanghai" });
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error(`page error: ${error.message}`));
  await page.goto(`${BASE}/login`);
  await page.evaluate((l) => localStorage.setItem("anxin.locale", l), locale);
  await page.goto(`${BASE}/login`);
  await page.fill("input[name=username]", "family1");
  await page.fill("input[name=password]", process.env.PASSWORD);
  await page.click("[data-testid=login-submit]");
  await page.waitForFunction(() => window.anxinReady === true, null, { timeout: 45000 });
  const alert = page.locator("[data-testid=family-alert]").first();
  await alert.locator("button.link").click();
  await page.locator("[data-testid=story-entry]").first().waitFor({ timeout: 15000 });  // the case, told for families
  const entry = page.locator("[data-testid=family-message][data-event=all_clear]");  // my messages: the all clear
  await entry.first().waitFor({ timeout: 15000 });
  const out = {
    alertLine: (await alert.locator("button.link").innerText()).trim(),
    allClear: (await entry.first().innerText()).trim(),
    desk: await page.locator("[data-testid=timeline-entry][data-source=delivery]").count(),
  };
  await page.screenshot({ path: `${process.env.SHOTS}/family-all-clear-${locale}.png`, fullPage: true });
  await context.close();
  return out;
}

try {
  result.zh = await look("zh-CN");
  result.en = await look("en");
  result.ok = true;
} catch (error) {
  result.error = String(error);
} finally {
  await browser.close();
  console.log(JSON.stringify(result));
}
