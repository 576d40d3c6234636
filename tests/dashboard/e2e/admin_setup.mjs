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
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });

async function open(locale) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale, timezoneId: "Asia/Shanghai" });
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error(`page error: ${error.message}`));
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

async function save(page, rowId) {
  await page.click("#form [data-testid=save]");
  await page.locator(`[data-testid=row-${rowId}]`).waitFor({ timeout: 10000 });
}

async function setUp(page) {
  await tab(page, "stations");
  await page.click("[data-testid=new]");
  await page.fill("#form [name=id]", "st-e2e");
  await page.fill("#form [name=name]", "南湖服务站");
  await page.selectOption("#form [name=district_id]", { label: "东湖区" });
  await page.fill("#form [name=address]", "南湖路 1 号");
  await page.click("#form [data-testid=map-picker]", { position: { x: 200, y: 100 } });
  await save(page, "st-e2e");

  await tab(page, "staff");
  await page.click("[data-testid=new]");
  await page.fill("#form [name=id]", "s-e2e");
  await page.fill("#form [name=name]", "周护理");
  await page.selectOption("#form [name=station_id]", { label: "南湖服务站" });
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
  await page.selectOption("#form [name=station_id]", { label: "南湖服务站" });
  await page.fill("#form [name=address]", "南湖路 8 号 3 楼");
  await page.fill("#form [name=street]", "南湖街道");
  await page.fill("#form [name=community]", "南湖社区");
  await page.click("#form [data-testid=map-picker]", { position: { x: 260, y: 120 } });
  await page.check("#form input[name=categories][value=living_alone]");
  await page.check("#form input[name=categories][value=advanced_age]");
  await page.selectOption("#form [name=assessment_level]", "3");
  await page.selectOption("#form [name=risk_class]", "A");
  await page.fill("#form [name=heart_rate_low]", "45");
  await page.fill("#form [name=heart_rate_high]", "110");
  await page.fill("#form [name=spo2_low]", "88");
  await save(page, "r-e2e");
  await page.click("[data-testid=row-r-e2e]");
  await page.click("[data-testid=add-contact]");
  const contact = page.locator("[data-testid=contact-form]");
  await contact.locator("[name=name]").fill("孙女士");
  await contact.locator("[name=phone]").fill("13900001111");
  await contact.locator("[name=quiet_start]").fill("22:00");
  await contact.locator("[name=quiet_end]").fill("07:00");
  await contact.locator("[name=kind0]").selectOption("outbox");
  await contact.locator("[name=target0]").fill("sun-daughter");
  await contact.locator("[data-testid=save-contact]").click();
  await page.locator("[data-testid=contacts] .contact", { hasText: "孙女士" }).waitFor({ timeout: 10000 });
  result.contact = (await page.locator("[data-testid=contacts] .contact").first().innerText()).trim();
  await page.screenshot({ path: `${SHOTS}/admin-residents-zh-CN.png` });

  await tab(page, "devices");
  await page.click("[data-testid=new]");
  await page.fill("#form [name=id]", "b-e2e");
  await page.selectOption("#form [name=kind]", "bracelet");
  await page.selectOption("#form [name=resident_id]", "r-e2e");
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
} finally {
  await browser.close();
  console.log(JSON.stringify(result));
}
