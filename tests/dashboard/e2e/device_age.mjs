// The console at 1366x768 and at 390x844, in zh-CN and en: a late SOS shows its age on the queue item and
// the case head; the resident's sensors behind a live hub show as online, with no emoji anywhere.
// Prints one JSON line; screenshots to SHOTS.
import { createRequire } from "node:module";

const require = createRequire(`${process.env.ANXIN_WEB}/package.json`);
const { chromium } = require("playwright-core");
const BASE = process.env.BASE_URL;
const EMOJI = /\p{Extended_Pictographic}/u;
const result = { looks: {} };
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });

async function look(locale, width, height) {
  const context = await browser.newContext({ viewport: { width, height }, locale, timezoneId: "Asia/Shanghai" });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(`${BASE}/login`);
  await page.evaluate((l) => localStorage.setItem("anxin.locale", l), locale);
  await page.goto(`${BASE}/login`);
  await page.fill("input[name=username]", "operator");
  await page.fill("input[name=password]", process.env.PASSWORD);
  await page.click("[data-testid=login-submit]");
  await page.waitForFunction(() => window.anxinReady === true, null, { timeout: 45000 });
  const item = page.locator("[data-testid=queue-item]").first();
  await item.locator("[data-testid=event-age]").waitFor({ timeout: 15000 });
  const queueAge = (await item.locator("[data-testid=event-age]").innerText()).trim();
  await item.click();
  const head = page.locator("#case-head [data-testid=event-age]");
  await head.waitFor({ timeout: 15000 });
  await page.locator("[data-testid=device-badge]").first().waitFor({ timeout: 15000 });
  const badges = await page.locator("[data-testid=device]").evaluateAll((rows) => rows.map((row) => ({
    text: row.innerText.trim(), state: row.querySelector("[data-testid=device-badge]")?.dataset.state,
    icons: row.querySelectorAll("svg.icon").length })));
  const panel = await page.locator("#resident-panel").innerText();
  const body = await page.locator("body").innerText();
  const out = {
    queueAge, caseAge: (await head.innerText()).trim(), badges,
    offlineWord: panel.includes("离线") || /\boffline\b/i.test(panel),
    emoji: [...body].filter((c) => EMOJI.test(c) && !"©®™".includes(c)),  // the map attribution's © is text
    mapZoom: await page.evaluate(() => document.querySelector("#map")?.classList.contains("leaflet-container") ?? false),
    errors,
  };
  await page.screenshot({ path: `${process.env.SHOTS}/device-age-${locale}-${width}x${height}.png`, fullPage: true });
  await context.close();
  return out;
}

try {
  for (const [w, h] of [[1366, 768], [390, 844]]) {
    for (const locale of ["zh-CN", "en"]) result.looks[`${locale}-${w}`] = await look(locale, w, h);
  }
  result.ok = true;
} catch (error) {
  result.error = String(error);
} finally {
  await browser.close();
  console.log(JSON.stringify(result));
}
