// An admin puts a neighbourhood in at 1366x768: a station (in 东湖区), a staff member with a week of shifts,
// a resident with every profile field (position picked on the map) and a contact, and a bracelet bound
// to the resident, whose new secret is read off the page (shown once). A refused form is looked at in
// both languages. Prints one JSON line; screenshots to SHOTS/admin-*.png.
import { createRequire } from "node:module";

const require = createRequire(`${process.env.ANXIN_WEB}/package.json`);
const { chromium } = require("playwright-core");
const BASE = process.env.BASE_URL;
const SHOTS = process.env.SHOTS;
const result = {};
const failures = [];
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });

async function open(locale) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale, timezoneId: "Asia/Shanghai" });
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error(`page error: ${error.message}`));
  // What went wrong on the wire, said when a step times out: refused or failed requests, with their answers.
  const api = (url) => new URL(url).pathname.startsWith("/api/");  // not the map's tiles
  page.on("response", async (response) => {
    if (response.status() < 400 || !api(response.url())) return;
    const body = await response.text().catch(() => "");
    failures.push(`${response.request().method()} ${new URL(response.url()).pathname} ${response.status()} ${body.slice(0, 200)}`);
  });
  page.on("requestfailed", (request) => api(request.url()) && failures.push(`${request.method()} ${new URL(request.url()).pathname} failed: ${request.failure()?.errorText}`));
  await page.goto(`${BASE}/login`);
  await page.evaluate((l) => localStorage.setItem("anxin.locale", l), locale);
  await page.goto(`${BASE}/login`);
  await page.fill("input[name=username]", "admin");
  await page.fill("input[name=password]", process.env.PASSWORD);
  await page.click("[data-testid=login-submit]");
  await page.waitForURL((url) => !url.pathname.startsWith("/login"), { timeout: 15000 });
  await page.goto(`${BASE}/admin`);
  await page.waitForFunction(() => window.anxinReady === true, null, { timeout: 30000 });
  return { context, page };
}

async function tab(page, name) {
  await page.click(`[data-testid=tab-${name}]`);
  await page.locator("[data-testid=new]").waitFor();
}

// A select whose options come from the page's lists: wait for the wanted one, and say what was there if it never comes.
async function choose(page, selector, wanted) {
  const option = typeof wanted === "string" ? `option[value="${wanted}"]` : `option:text-is("${wanted.label}")`;
  try {
    await page.locator(`${selector} ${option}`).waitFor({ state: "attached", timeout: 20000 });
  } catch (error) {
    const offered = await page.locator(`${selector} option`).allInnerTexts().catch(() => ["(no such select)"]);
    throw new Error(`${selector}: no option ${JSON.stringify(wanted)} among ${JSON.stringify(offered)}`);
  }
  await page.selectOption(selector, wanted);
}

async function save(page, rowId) {
  await page.click("#form [data-testid=save]");
  try {
    await page.locator(`[data-testid=row-${rowId}]`).waitFor({ timeout: 15000 });
  } catch (error) {  // say what the page showed instead: a refusal, an empty panel, the sign-in page
    const refused = await page.locator("[data-testid=form-error]").allInnerTexts().catch(() => []);
    const panel = await page.locator("#panel").innerText().catch(() => "(no panel)");
    const typed = await page.evaluate(() => Object.fromEntries(["name", "lat", "lon"].map((n) => [n, document.querySelector(`#form [name=${n}]`)?.value]))).catch(() => ({}));
    throw new Error(`${rowId} was not listed at ${page.url()}; refusal ${JSON.stringify(refused)}; `
      + `typed ${JSON.stringify(typed)}; requests ${JSON.stringify(failures.slice(-5))}; panel: ${panel.slice(0, 400)}`);
  }
}

// Click the map and check the position it set: a click the map did not take would leave the position empty
// and the save refused, which is said here rather than as a missing row later.
async function pick(page, x, y) {
  await page.click("#form [data-testid=map-picker]", { position: { x, y } });
  const lat = await page.locator("#form [name=lat]").elementHandle();
  await page.waitForFunction((node) => node.value !== "", lat, { timeout: 5000 })
    .catch(() => { throw new Error(`a click on the map at ${x},${y} set no position`); });
}

async function setUp(page) {
  await tab(page, "stations");
  await page.click("[data-testid=new]");
  await page.fill("#form [name=id]", "st-e2e");
  await page.fill("#form [name=name]", "南湖服务站");
  await choose(page, "#form [name=district_id]", { label: "东湖区" });
  await page.fill("#form [name=address]", "南湖路 1 号");
  await pick(page, 200, 100);
  await save(page, "st-e2e");

  await tab(page, "staff");
  await page.click("[data-testid=new]");
  await page.fill("#form [name=id]", "s-e2e");
  await page.fill("#form [name=name]", "周护理");
  await choose(page, "#form [name=station_id]", { label: "南湖服务站" });
  await page.fill("#form [name=phone]", "13700000009");
  for (let day = 0; day < 7; day++) {
    await page.click("#form [data-testid=add-shift]");
    const row = page.locator("#form .shift").nth(day);
    await row.locator("[name=weekday]").selectOption(String(day));
    await row.locator("[name=starts]").fill("00:00");
    await row.locator("[name=ends]").fill("23:59");
  }
  await save(page, "s-e2e");
  await page.click("[data-testid=row-s-e2e]");
  await page.locator("#form [data-testid=week] .shift").nth(6).waitFor();
  await page.screenshot({ path: `${SHOTS}/admin-staff-zh-CN.png` });

  await tab(page, "residents");
  await page.click("[data-testid=new]");
  await page.fill("#form [name=id]", "r-e2e");
  await page.click("#form [data-testid=save]");  // no name: refused, in words, with the field marked
  await page.locator("#form [data-testid=form-error]:not(:empty)").waitFor();
  result.refusedZh = (await page.locator("#form [data-testid=form-error]").innerText()).trim();
  await page.screenshot({ path: `${SHOTS}/admin-validation-zh-CN.png` });
  await page.fill("#form [name=name]", "孙奶奶");
  await page.selectOption("#form [name=gender]", "F");
  await page.fill("#form [name=phone]", "13812345678");
  await choose(page, "#form [name=station_id]", { label: "南湖服务站" });
  await page.fill("#form [name=address]", "南湖路 8 号 3 楼");
  await page.fill("#form [name=street]", "南湖街道");
  await page.fill("#form [name=community]", "南湖社区");
  await pick(page, 260, 120);
  await page.check("#form input[name=categories][value=living_alone]");
  await page.check("#form input[name=categories][value=advanced_age]");
  await page.selectOption("#form [name=assessment_level]", "3");
  await page.selectOption("#form [name=risk_class]", "A");
  await page.fill("#form [name=heart_rate_low]", "45");
  await page.fill("#form [name=heart_rate_high]", "110");
  await page.fill("#form [name=spo2_low]", "88");
  await save(page, "r-e2e");
  await page.click("[data-testid=row-r-e2e]");
  await page.locator("#form .form-head h2", { hasText: "孙奶奶" }).waitFor({ timeout: 20000 });  // the saved resident's form is drawn
  await page.click("[data-testid=add-contact]");
  const contact = page.locator("[data-testid=contact-form]");
  await contact.locator("[name=name]").fill("孙女士");
  await contact.locator("[name=phone]").fill("13900001111");
  await contact.locator("[name=quiet_start]").fill("22:00");
  await contact.locator("[name=quiet_end]").fill("07:00");
  await contact.locator("[name=kind0]").selectOption("outbox");
  await contact.locator("[name=target0]").fill("sun-daughter");
  await contact.locator("[data-testid=save-contact]").click();
  try {
    await page.locator("[data-testid=contacts] .contact", { hasText: "孙女士" }).waitFor({ timeout: 20000 });
  } catch (error) {  // say what the page showed instead: a refusal under the form, or the contacts it has
    const refused = await page.locator("[data-testid=contact-error]").allInnerTexts().catch(() => []);
    const shown = await page.locator("#form").innerText().catch(() => "(no form)");
    throw new Error(`the contact was not listed; refusal ${JSON.stringify(refused)}; `
      + `requests ${JSON.stringify(failures.slice(-5))}; form: ${shown.slice(0, 600)}`);
  }
  result.contact = (await page.locator("[data-testid=contacts] .contact").first().innerText()).trim();
  await page.screenshot({ path: `${SHOTS}/admin-residents-zh-CN.png` });

  await tab(page, "devices");
  await page.click("[data-testid=new]");
  await page.fill("#form [name=id]", "b-e2e");
  await page.selectOption("#form [name=kind]", "bracelet");
  await choose(page, "#form [name=resident_id]", "r-e2e");
  await page.click("#form [data-testid=save]");
  await page.locator("[data-testid=device-secret]").waitFor({ timeout: 10000 });
  result.username = (await page.locator("[data-testid=secret-username]").innerText()).trim();
  result.secret = (await page.locator("[data-testid=secret-value]").innerText()).trim();
  result.secretNote = (await page.locator("[data-testid=device-secret] p").first().innerText()).trim();
  await page.screenshot({ path: `${SHOTS}/admin-devices-zh-CN.png` });

  await page.click("[data-testid=tab-audit]");
  await page.locator("[data-testid=audit-row]").first().waitFor({ timeout: 10000 });
  result.auditRows = await page.locator("[data-testid=audit-row]").count();
  await page.screenshot({ path: `${SHOTS}/admin-audit-zh-CN.png` });
}

async function lookInEnglish(page) {
  await tab(page, "residents");
  await page.click("[data-testid=row-r-e2e]");
  await page.locator("[data-testid=contacts] .contact").first().waitFor();
  await page.fill("#form [name=heart_rate_low]", "120");  // above the high limit: refused with both numbers
  await page.click("#form [data-testid=save]");
  await page.locator("#form [data-testid=form-error]:not(:empty)").waitFor();
  result.refusedEn = (await page.locator("#form [data-testid=form-error]").innerText()).trim();
  await page.screenshot({ path: `${SHOTS}/admin-residents-en.png` });
  await tab(page, "staff");
  await page.click("[data-testid=row-s-e2e]");
  await page.locator("#form [data-testid=week] .shift").nth(6).waitFor();
  await page.screenshot({ path: `${SHOTS}/admin-staff-en.png` });
  await tab(page, "stations");
  await page.screenshot({ path: `${SHOTS}/admin-stations-en.png` });

  // A list the server fails to give is said in the panel, and read again at a click (not a blank panel).
  const list = "**/api/admin/residents";
  await page.route(list, (route) => route.fulfill({ status: 503, contentType: "application/json", body: "{}" }));
  await page.click("[data-testid=tab-residents]");
  await page.locator("[data-testid=unreadable]").waitFor({ timeout: 10000 });
  result.unreadableEn = (await page.locator("[data-testid=unreadable]").innerText()).trim();
  await page.screenshot({ path: `${SHOTS}/admin-unreadable-en.png` });
  await page.unroute(list);
  await page.click("[data-testid=unreadable] button");
  await page.locator("[data-testid=row-r-e2e]").waitFor({ timeout: 10000 });
}

try {
  const zh = await open("zh-CN");
  await setUp(zh.page);
  await zh.context.close();
  const en = await open("en");
  await lookInEnglish(en.page);
  await en.context.close();
  result.ok = true;
} catch (error) {
  result.error = String(error);
  result.requests = failures.slice(-8);  // whichever step failed: the refused or failed requests before it
} finally {
  await browser.close();
  console.log(JSON.stringify(result));
}
