// The staff phone in headless Chromium (Debian's, driven by playwright-core from dashboard/web) at 390x844,
// with the geolocation permission granted and a position set: staff1 opens a task from an offer link
// (/staff?task=N), the page reports the position and marks the task; the phone moves and accepts, and
// reports again; staff1 closes a welfare visit with a structured note asking for a follow-up, and goes on
// site while an older read of the tasks answers late. Then the same in English, a phone that refuses its
// position (opened on a link to a task that is over), and the supervisors' visits page.
//
// The Python test runs this script once and reads the JSON result it prints last.
import { createRequire } from "node:module";
import { holdReads } from "./held.mjs";

const require = createRequire(`${process.env.ANXIN_WEB}/package.json`);
const { chromium } = require("playwright-core");
const BASE = process.env.BASE_URL;
const SHOTS = process.env.SHOTS;
const TASK = process.env.TASK_ID;
const VISIT = process.env.VISIT_ID;
const [FIRST, SECOND] = [JSON.parse(process.env.FIRST), JSON.parse(process.env.SECOND)];
const PHONE = { width: 390, height: 844 };
const result = { reports: [] };
const step = (name) => console.error(`step: ${name}`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});

async function open(username, { viewport = PHONE, where = null, lang = "zh-CN", path = null, record = false } = {}) {
  const context = await browser.newContext({
    viewport, locale: lang, timezoneId: "Asia/Shanghai", deviceScaleFactor: 1,
    ...(where ? { geolocation: { latitude: where[0], longitude: where[1] }, permissions: ["geolocation"] } : {}),
  });
  await context.addInitScript((chosen) => localStorage.setItem("anxin.locale", chosen), lang);
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error(`[${username}] page error: ${error.message}`));
  page.on("console", (m) => { if (m.type() === "error") console.error(`[${username}] console: ${m.text()}`); });
  page.on("request", (r) => {
    if (record && r.method() === "PATCH" && r.url().includes("/api/staff/")) {
      const body = JSON.parse(r.postData());
      result.reports.push([body.lat, body.lon]);
    }
  });
  await page.goto(`${BASE}/login`);
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", process.env.PASSWORD);
  await page.click("[data-testid=login-submit]");
  await page.waitForFunction(() => window.anxinReady === true, null, { timeout: 45000 });
  if (path) {
    await page.goto(`${BASE}${path}`);
    await page.waitForFunction(() => window.anxinReady === true, null, { timeout: 45000 });
  }
  return page;
}

const patched = (page) => page.waitForResponse((r) => r.request().method() === "PATCH" && r.url().includes("/api/staff/"));

try {
  // zh-CN: the offer link opens the older of two tasks.
  const staff = await open("staff1", { where: FIRST, record: true });
  result.staffLandsHome = new URL(staff.url()).pathname;
  await staff.waitForTimeout(500);  // the landing page's own report
  result.reports.length = 0;
  const firstReport = patched(staff);
  await staff.goto(`${BASE}/staff?task=${TASK}`);
  await staff.waitForFunction(() => window.anxinReady === true);
  result.firstReportStatus = (await firstReport).status();
  const linked = staff.locator(`[data-testid=staff-task][data-assignment-id="${TASK}"]`);
  result.highlighted = await staff.locator("[data-testid=staff-task].highlight").getAttribute("data-assignment-id");
  await staff.waitForTimeout(1200);  // what the staff member sees once the page has settled
  let box = await linked.boundingBox();
  for (let i = 0; i < 20 && box === null; i += 1) { await staff.waitForTimeout(100); box = await linked.boundingBox(); }  // mid-redraw
  result.linkedInView = box !== null && box.y >= 0 && box.y < PHONE.height;
  result.bodyFontPx = await staff.evaluate(() => parseFloat(getComputedStyle(document.querySelector("main p")).fontSize));
  result.acceptFontPx = await linked.locator("[data-testid=task-accept]").evaluate((b) => parseFloat(getComputedStyle(b).fontSize));
  await staff.screenshot({ path: `${SHOTS}/staff-linked-zh.png` });
  step("linked task shown and position reported");

  // The phone moves; accepting reports the fresh position at once.
  await staff.context().setGeolocation({ latitude: SECOND[0], longitude: SECOND[1] });
  const acceptReport = patched(staff);
  await linked.locator("[data-testid=task-accept]").click();
  await staff.waitForSelector(`[data-testid=staff-task][data-assignment-id="${TASK}"][data-state=accepted]`);
  result.acceptReportStatus = (await acceptReport).status();
  step("accepted and reported");

  // The welfare visit, closed with the structured note.
  const visit = staff.locator(`[data-testid=staff-visit][data-visit-id="${VISIT}"]`);
  await visit.locator("[data-testid=visit-record]").click();
  await visit.locator("[data-testid=visit-wellbeing-some_concern]").check();
  await visit.locator("[data-testid=visit-home_safe-true]").check();
  await visit.locator("[data-testid=visit-follow_up-true]").check();
  await visit.locator("[data-testid=visit-note]").fill("膝盖疼，走路慢");
  await visit.scrollIntoViewIfNeeded();
  await staff.screenshot({ path: `${SHOTS}/staff-visit-form-zh.png` });
  await visit.locator("[data-testid=visit-save]").click();
  await staff.locator("[data-testid=staff-visit][data-reason=follow_up]").waitFor();
  result.followUpShown = true;
  await staff.locator("#visits-section").scrollIntoViewIfNeeded();
  await staff.screenshot({ path: `${SHOTS}/staff-visit-done-zh.png` });
  await staff.screenshot({ path: `${SHOTS}/staff-full-zh.png`, fullPage: true });
  step("visit recorded");

  // Two reads of the tasks in flight, the older answering last: it must not put back a state already left.
  // The reads after "en route" are held (their answers taken at once); "on site" is answered at once; then
  // the held answers arrive.
  const reads = await holdReads(staff, "**/api/tasks?live_only=true");
  await linked.locator("[data-testid=task-en_route]").click();
  result.lateReads = await reads.count();
  reads.pass();
  await linked.locator("[data-testid=task-on_site]").click();  // the card still shows "accepted", which offers it
  await staff.waitForSelector(`[data-testid=staff-task][data-assignment-id="${TASK}"][data-state=on_site]`);
  await reads.release();
  result.stateAfterLateReads = await linked.getAttribute("data-state");
  step("late reads");

  // English: the same link, the follow-up's form open.
  const english = await open("staff1", { where: SECOND, lang: "en", path: `/staff?task=${TASK}` });
  // Opened again with its first read of the tasks answered after the one the live connection's greeting
  // asks for: the page still finds the linked task, and says nothing about it being gone.
  const opening = await holdReads(english, "**/api/tasks?live_only=true");
  await english.goto(`${BASE}/staff?task=${TASK}`);
  result.openingReads = await opening.count(2);
  await opening.release();
  await english.waitForFunction(() => window.anxinReady === true);
  result.goneSaidOfALiveTask = await english.locator("#toast.show").count() ? await english.locator("#toast").textContent() : null;
  result.englishTitle = await english.locator("h1").textContent();
  await english.screenshot({ path: `${SHOTS}/staff-linked-en.png` });
  const followUp = english.locator("[data-testid=staff-visit][data-reason=follow_up]");
  await followUp.locator("[data-testid=visit-record]").click();
  await followUp.scrollIntoViewIfNeeded();
  await english.screenshot({ path: `${SHOTS}/staff-visit-form-en.png` });
  await english.screenshot({ path: `${SHOTS}/staff-full-en.png`, fullPage: true });
  step("english");

  // A phone that was not given the permission: one quiet notice.
  const refused = await open("staff1", { lang: "en", path: "/staff?task=999999" });
  result.goneLinkSays = await refused.locator("#toast.show").textContent();
  await refused.locator("[data-testid=geo-notice]:not([hidden])").waitFor({ timeout: 15000 });
  result.geoNoticeWhenDenied = (await refused.locator("[data-testid=geo-notice]").textContent()).trim().length > 0;
  await refused.screenshot({ path: `${SHOTS}/staff-geo-denied-en.png` });
  step("denied");

  // The supervisors' page: r2's overdue visit first and marked.
  for (const lang of ["zh-CN", "en"]) {
    const supervisor = await open("supervisor", { viewport: { width: 1280, height: 800 }, lang, path: "/visits" });
    const first = supervisor.locator("[data-testid=visit-row]").first();
    result.supervisorOverdueFirst = (await first.getAttribute("data-overdue")) === "true"
      && (await first.locator("[data-testid=visit-overdue]").count()) === 1;
    await supervisor.screenshot({ path: `${SHOTS}/visits-${lang.slice(0, 2)}.png`, fullPage: true });
  }
  step("supervisor");
  result.ok = true;
} catch (error) {
  result.ok = false;
  result.error = String(error && error.stack || error);
} finally {
  await browser.close();
  console.log(JSON.stringify(result));
}
