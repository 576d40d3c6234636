// The admin's roster upload page (1366x768): choose the workbook, preview (nothing stored), read the refused
// rows, then import. Both languages; one JSON line; screenshots to SHOTS.
import { createRequire } from "node:module";

const require = createRequire(`${process.env.ANXIN_WEB}/package.json`);
const { chromium } = require("playwright-core");
const BASE = process.env.BASE_URL;
const result = {};
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });

async function page(locale) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale, timezoneId: "Asia/Shanghai" });
  const p = await context.newPage();
  p.on("pageerror", (error) => console.error(`page error: ${error.message}`));
  await p.goto(`${BASE}/login`);
  await p.evaluate((l) => localStorage.setItem("anxin.locale", l), locale);
  await p.goto(`${BASE}/login`);
  await p.fill("input[name=username]", "admin");
  await p.fill("input[name=password]", process.env.PASSWORD);
  await p.click("[data-testid=login-submit]");
  await p.waitForFunction(() => window.anxinReady === true, null, { timeout: 45000 });
  await p.goto(`${BASE}/roster`);
  await p.waitForFunction(() => window.anxinReady === true, null, { timeout: 45000 });
  await p.setInputFiles("[data-testid=roster-file]", process.env.ROSTER);
  await p.click("[data-testid=roster-preview]");
  await p.locator("[data-testid=roster-error]").first().waitFor({ timeout: 15000 });
  return { context, p };
}

try {
  const { context, p } = await page("zh-CN");
  const residents = p.locator("[data-testid=roster-count-residents] td");
  result.zh = {
    previewResidents: await residents.allInnerTexts(),
    errors: (await p.locator("[data-testid=roster-errors]").innerText()),
    storedAfterPreview: await p.evaluate(async () => (await (await fetch("/api/residents")).json()).some((r) => r.id.startsWith("res-"))),
  };
  await p.screenshot({ path: `${process.env.SHOTS}/roster-preview-zh-CN.png`, fullPage: true });
  await p.click("[data-testid=roster-import]");
  await p.locator("text=已导入").first().waitFor({ timeout: 15000 });
  await p.screenshot({ path: `${process.env.SHOTS}/roster-imported-zh-CN.png`, fullPage: true });
  await context.close();
  const en = await page("en");
  result.en = { errors: await en.p.locator("[data-testid=roster-errors]").innerText() };
  await en.p.screenshot({ path: `${process.env.SHOTS}/roster-preview-en.png`, fullPage: true });
  await en.context.close();
  result.ok = true;
} catch (error) {
  result.error = String(error);
} finally {
  await browser.close();
  console.log(JSON.stringify(result));
}
