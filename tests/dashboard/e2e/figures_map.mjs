// The figures page and the console map in headless Chromium (Debian's, driven by playwright-core from
// dashboard/web), run by tests/dashboard/test_figures_page.py: a supervisor reads the figures in Chinese
// and in English at 1366x768 and on a 390x844 phone, an operator opens the console over GCJ-02 tiles.
// On each look: one unit per quantity (seconds to acknowledge, minutes to arrive, never "01:14"), chart
// headings clear of their plots, nothing wider than the screen, one language. Prints one JSON result last.
import { createRequire } from "node:module";

const require = createRequire(`${process.env.ANXIN_WEB}/package.json`);
const { chromium } = require("playwright-core");
const BASE = process.env.BASE_URL;
const SHOTS = process.env.SHOTS;
const result = { errors: [], looks: {} };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});

async function signIn(username, viewport = { width: 1366, height: 768 }) {
  const context = await browser.newContext({ viewport, locale: "zh-CN", timezoneId: "Asia/Shanghai" });
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

// What one look at the page finds: clock-like times, units, headings over plots, overflow, the other language.
async function look(page, name) {
  const found = await page.evaluate(() => {
    const main = document.querySelector("main.figures");
    const stationNames = [...document.querySelectorAll("[data-testid=per-station] tbody td:first-child")].map((n) => n.innerText.split(" · ")[0]);
    let text = main.innerText;
    for (const word of stationNames) text = text.replaceAll(word, " ");
    const card = (key) => document.querySelector(`.number[data-key="${key}"] strong`)?.textContent ?? null;
    const overlaps = [...document.querySelectorAll(".chart")].filter((chart) => {
      const heading = chart.parentElement.querySelector("h2");
      return !heading || heading.getBoundingClientRect().bottom > chart.getBoundingClientRect().top + 0.5;
    }).map((chart) => chart.id);
    return {
      clockTimes: main.innerText.match(/\b\d{1,2}:\d{2}\b/g) || [],
      ackMedian: card("figures.ack_median"), arriveMedian: card("figures.arrive_median"),
      tableAck: [...document.querySelectorAll("[data-testid=per-severity] tbody tr")].map((r) => r.children[3]?.innerText),
      tableArrive: [...document.querySelectorAll("[data-testid=per-severity] tbody tr")].map((r) => r.children[8]?.innerText),
      overlaps,
      overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      latin: (text.match(/[A-Za-z][A-Za-z]+/g) || []).filter((w) => !["P90"].includes(w)),
      cjk: text.match(/[\u3400-\u9fff]+/g) || [],
      chartEmpty: [...document.querySelectorAll("[data-chart-empty]:not([hidden])")].map((n) => n.dataset.chartEmpty),
    };
  });
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
  result.looks[name] = found;
}

async function trendTooltip(page) {
  const box = await page.locator("#trend-chart").boundingBox();
  for (const fraction of [0.95, 0.5, 0.2]) {  // the latest days first: they have alerts
    await page.mouse.move(box.x + box.width * fraction, box.y + box.height * 0.6);
    await page.waitForTimeout(300);
    const tip = await page.evaluate(() => [...document.querySelectorAll("#trend-chart div")].find((d) => d.style.zIndex === "9999999" && d.offsetParent !== null)?.innerText || "");
    if (/%/.test(tip)) return tip;
  }
  return "";
}

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
    await look(supervisor, "figures-empty");
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
  await look(supervisor, "figures-zh");
  result.tooltipZh = await trendTooltip(supervisor);
  const phone = await signIn("supervisor", { width: 390, height: 844 });
  await phone.goto(`${BASE}/figures`);
  await phone.waitForFunction(() => window.anxinReady === true);
  await phone.waitForTimeout(300);
  await look(phone, "figures-phone-zh");
  await supervisor.click("#locale-switch");
  await supervisor.waitForFunction(() => window.anxinReady === true && document.documentElement.lang === "en");
  await supervisor.waitForTimeout(300);
  result.areaEn = await rows(supervisor, "per-area");
  await look(supervisor, "figures-en");
  result.tooltipEn = await trendTooltip(supervisor);
  await phone.reload();
  await phone.waitForFunction(() => window.anxinReady === true && document.documentElement.lang === "en");
  await phone.waitForTimeout(300);
  await look(phone, "figures-phone-en");
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
