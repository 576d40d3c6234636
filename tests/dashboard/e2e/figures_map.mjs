// The figures page and the console map in headless Chromium (Debian's, driven by playwright-core from
// dashboard/web), run by tests/dashboard/test_figures_page.py: a supervisor reads the figures in Chinese
// and in English, an operator opens the console over GCJ-02 tiles. Prints one JSON result line last.
import { createRequire } from "node:module";

const require = createRequire(`${process.env.ANXIN_WEB}/package.json`);
const { chromium } = require("playwright-core");
const BASE = process.env.BASE_URL;
const SHOTS = process.env.SHOTS;
const result = { errors: [] };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});

async function signIn(username) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: "zh-CN", timezoneId: "Asia/Shanghai" });
  const page = await context.newPage();
  page.on("pageerror", (error) => result.errors.push(`${username}: ${error.message}`));
  await page.goto(`${BASE}/login`);
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", process.env.PASSWORD);
  await page.click("[data-testid=login-submit]");
  await page.waitForFunction(() => window.anxinReady === true, null, { timeout: 45000 });
  return page;
}

const rows = (page, id) => page.locator(`[data-testid=${id}] tbody tr`).allInnerTexts();

try {
  const supervisor = await signIn("supervisor");
  await supervisor.goto(`${BASE}/figures`);
  await supervisor.waitForFunction(() => window.anxinReady === true);
  await supervisor.waitForTimeout(300);
  result.numbers = await supervisor.locator("[data-testid=figures] .number").allInnerTexts();
  result.severity = await rows(supervisor, "per-severity");
  result.station = await rows(supervisor, "per-station");
  result.area = await rows(supervisor, "per-area");
  result.trendCanvas = await supervisor.locator("[data-testid=trend] canvas").count();
  result.empty = await supervisor.locator("[data-empty]").allInnerTexts();
  if (process.env.EMPTY) {
    await supervisor.screenshot({ path: `${SHOTS}/figures-empty.png`, fullPage: true });
  } else {
    await seeTheRest(supervisor);
  }
  result.ok = true;
} catch (error) {
  result.ok = false;
  result.error = String(error.stack || error);
} finally {
  await browser.close();
  console.log(JSON.stringify(result));
  process.exit(0);
}

async function seeTheRest(supervisor) {
  await supervisor.screenshot({ path: `${SHOTS}/figures-zh.png`, fullPage: true });
  await supervisor.click("#locale-switch");
  await supervisor.waitForFunction(() => window.anxinReady === true && document.documentElement.lang === "en");
  await supervisor.waitForTimeout(300);
  result.areaEn = await rows(supervisor, "per-area");
  await supervisor.screenshot({ path: `${SHOTS}/figures-en.png`, fullPage: true });
  await supervisor.selectOption("#days", "7");
  await supervisor.waitForTimeout(300);

  const operator = await signIn("operator");
  await operator.goto(`${BASE}/console`);
  await operator.waitForFunction(() => window.anxinReady === true);
  await operator.locator("#map path.leaflet-interactive").first().waitFor();
  result.mapMarkers = await operator.locator("#map path.leaflet-interactive").count();
  result.attribution = await operator.locator("#map .leaflet-control-attribution").innerText();
  await operator.screenshot({ path: `${SHOTS}/console-map.png` });
}
