// The staff phone and the family page at 390x844 (Debian's Chromium, driven by playwright-core from
// dashboard/web). PHASE=before: the family page while r1's bracelet is off the wrist, and its settings
// card. PHASE=after: the operator (over the REST API, as the console does) offers r2's SOS to staff1,
// whose phone rings until they decline it in the page; r2's goes on to staff2 (English); r1's is offered
// to staff1, accepted and carried to its outcome; then each family's page. Prints one JSON line.
import { createRequire } from "node:module";

const require = createRequire(`${process.env.ANXIN_WEB}/package.json`);
const { chromium, request } = require("playwright-core");
const BASE = process.env.BASE_URL;
const SHOTS = process.env.SHOTS;
const PHONE = { width: 390, height: 844 };
const result = { promptUsed: false };
const step = (name) => console.error(`step: ${name}`);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--autoplay-policy=no-user-gesture-required"],
});

async function open(username, lang) {
  const context = await browser.newContext({ viewport: PHONE, locale: lang, timezoneId: "Asia/Shanghai", deviceScaleFactor: 1 });
  await context.addInitScript((chosen) => localStorage.setItem("anxin.locale", chosen), lang);
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error(`[${username}] page error: ${error.message}`));
  page.on("console", (m) => { if (m.type() === "error") console.error(`[${username}] console: ${m.text()}`); });
  page.on("dialog", async (dialog) => { result.promptUsed = true; await dialog.dismiss(); });
  await page.goto(`${BASE}/login`);
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", process.env.PASSWORD);
  await page.click("[data-testid=login-submit]");
  await page.waitForFunction(() => window.anxinReady === true, null, { timeout: 45000 });
  return page;
}

const texts = async (locator) => (await locator.allInnerTexts()).map((s) => s.trim());
const ringing = (page) => page.evaluate(() => window.anxinRing.ringing);
const bodyFont = (page) => page.evaluate(() => parseFloat(getComputedStyle(document.querySelector("main p")).fontSize));

async function today(page) {
  const line = page.locator("[data-testid=today]").first();
  await line.waitFor();
  const trouble = page.locator("[data-testid=bracelet-trouble]").first();
  return { saysAllWell: /一切正常|all is well|All well/i.test(await line.innerText()),
    braceletCode: (await trouble.count()) ? await trouble.getAttribute("data-code") : null };
}

// --- before: the bracelet, the settings -------------------------------------------------------------
async function before() {
  const zh = await open("family1", "zh-CN");
  result.zh = await today(zh);
  await zh.screenshot({ path: `${SHOTS}/family-bracelet-zh.png`, fullPage: true });
  const form = zh.locator("[data-testid=prefs-form]").first();
  await form.locator("[data-testid=quiet-start]").fill("22:30");
  await form.locator("[data-testid=quiet-end]").fill("06:45");
  const saved = zh.waitForResponse((r) => r.request().method() === "PUT" && r.url().includes("/api/me/preferences/"));
  await form.locator("[data-testid=prefs-save]").click();
  if ((await saved).status() !== 200) throw new Error("the settings were not saved");
  await zh.reload();
  await zh.waitForFunction(() => window.anxinReady === true);
  const again = zh.locator("[data-testid=prefs-form]").first();
  result.zh.quietAfterReload = [await again.locator("[data-testid=quiet-start]").inputValue(), await again.locator("[data-testid=quiet-end]").inputValue()];
  await again.locator("[data-testid=channel-add]").click();
  const added = again.locator("[data-testid=channel]").last();
  await added.locator("[data-testid=channel-kind]").selectOption("email");
  await added.locator("[data-testid=channel-target]").fill("daughter@");
  const refused = zh.waitForResponse((r) => r.request().method() === "PUT" && r.url().includes("/api/me/preferences/"));
  await again.locator("[data-testid=prefs-save]").click();
  await refused;
  result.zh.badChannelSays = (await zh.locator("#toast.show").textContent()).trim();
  await again.scrollIntoViewIfNeeded();
  await zh.screenshot({ path: `${SHOTS}/family-settings-zh.png`, fullPage: true });
  step("family before, zh");
  const en = await open("family1", "en");
  result.en = await today(en);
  await en.screenshot({ path: `${SHOTS}/family-bracelet-en.png`, fullPage: true });
  step("family before, en");
}

// --- after: the offers ------------------------------------------------------------------------------
async function desk() {
  const api = await request.newContext({ baseURL: BASE });
  const login = await api.post("/api/auth/login", { data: { username: "operator", password: process.env.PASSWORD } });
  if (!login.ok()) throw new Error("operator sign-in failed");
  const read = async (path) => {  // an answer that is not the list says what it was instead
    const answer = await api.get(path);
    const body = await answer.json().catch(() => null);
    if (!answer.ok() || !Array.isArray(body)) throw new Error(`${path}: ${answer.status()} ${JSON.stringify(body)}`);
    return body;
  };
  const alerts = await read("/api/alerts?open_only=true");
  const of = (rid) => alerts.find((a) => a.resident_id === rid).id;
  const offer = async (rid, staff) => {
    const id = of(rid);
    for (const [path, data] of [[`/api/alerts/${id}/acknowledge`, {}], [`/api/alerts/${id}/dispatch`, { staff_id: staff }]]) {
      const answer = await api.post(path, { data });
      if (!answer.ok()) throw new Error(`${path}: ${answer.status()} ${await answer.text()}`);
    }
  };
  const offeredTo = async (rid) => ((await read("/api/tasks")).find((t) => t.resident_id === rid && t.state === "offered") || {}).staff_id;
  return { offer, offeredTo };
}

async function offerCard(page) {
  await page.waitForFunction(() => window.anxinRing && window.anxinRing.ringing, null, { timeout: 20000 });
  const card = page.locator("[data-testid=staff-task][data-state=offered]").first();
  await card.waitFor();
  return card;
}

async function carryOut(page, card) {
  const id = await card.getAttribute("data-assignment-id");
  const task = page.locator(`[data-testid=staff-task][data-assignment-id="${id}"]`);
  await task.locator("[data-testid=task-accept]").click();
  await page.locator(`[data-testid=staff-task][data-assignment-id="${id}"][data-state=accepted]`).waitFor();
  const afterAccept = await ringing(page);
  await task.locator("[data-testid=task-en_route]").click();
  await page.locator(`[data-testid=staff-task][data-assignment-id="${id}"][data-state=en_route]`).waitFor();
  await task.locator("[data-testid=task-on_site]").click();
  await page.locator(`[data-testid=staff-task][data-assignment-id="${id}"][data-state=on_site]`).waitFor();
  await task.locator("[data-testid=staff-outcome]").selectOption("helped_at_home");
  await task.locator("[data-testid=task-outcome]").click();
  const done = page.locator("[data-testid=task-done]:not([hidden])");
  await done.or(page.locator("#toast.show.error")).first().waitFor({ timeout: 15000 });
  if (!(await done.count())) throw new Error(`the outcome was refused: ${await page.locator("#toast").textContent()}`);
  return { afterAccept, done: (await done.innerText()).trim() };
}

// A live message may redraw the task list between two reads; a box is read once the element is drawn again.
async function boxOf(locator) {
  for (let i = 0; i < 50; i += 1) {
    const box = await locator.boundingBox();
    if (box) return box;
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error("no box for " + locator);
}

async function staffPhones() {
  const { offer, offeredTo } = await desk();
  const zh = await open("staff1", "zh-CN");
  await offer("r2", "s1");  // the phone is open: the offer arrives live and rings
  let card = await offerCard(zh);
  const out = { ringing: true, rings: await zh.evaluate(() => window.anxinRing.rings) };
  out.bodyFontPx = await bodyFont(zh);
  out.acceptFontPx = await card.locator("[data-testid=task-accept]").evaluate((b) => parseFloat(getComputedStyle(b).fontSize));
  out.declineFontPx = await card.locator("[data-testid=task-decline]").evaluate((b) => parseFloat(getComputedStyle(b).fontSize));
  const acceptBox = await boxOf(card.locator("[data-testid=task-accept]"));
  const declineBox = await boxOf(card.locator("[data-testid=task-decline]"));
  out.declineGapPx = declineBox.y - (acceptBox.y + acceptBox.height);
  await zh.screenshot({ path: `${SHOTS}/staff-offer-zh.png`, fullPage: true });
  await card.locator("[data-testid=task-decline]").click();
  const form = card.locator("[data-testid=decline-form]");
  out.declineAsks = await form.isVisible();
  out.declineReasons = await form.locator("input[type=radio]").count();
  await form.locator("[data-testid=decline-reason-too_far]").check();
  await form.scrollIntoViewIfNeeded();
  await zh.screenshot({ path: `${SHOTS}/staff-decline-zh.png`, fullPage: true });
  await form.locator("[data-testid=decline-confirm]").click();
  await zh.waitForFunction(() => !window.anxinRing.ringing, null, { timeout: 15000 });
  out.ringingAfterDecline = await ringing(zh);
  step("declined");

  await offer("r1", "s1");
  card = await offerCard(zh);
  out.arriveBy = (await card.locator("[data-testid=arrive-by]").innerText()).trim();
  out.calls = await texts(card.locator("[data-testid=call-resident], [data-testid=call-contact]"));
  const zhDone = await carryOut(zh, card);
  out.ringingAfterAccept = zhDone.afterAccept;
  out.done = zhDone.done;
  await zh.screenshot({ path: `${SHOTS}/staff-done-zh.png`, fullPage: true });
  step("staff1 done");

  const next = await offeredTo("r2");
  if (next !== "s2") throw new Error(`r2's task went to ${next}, not s2`);
  const en = await open("staff2", "en");
  card = await offerCard(en);
  const outEn = { ringing: true, arriveBy: (await card.locator("[data-testid=arrive-by]").innerText()).trim() };
  outEn.calls = await texts(card.locator("[data-testid=call-resident], [data-testid=call-contact]"));
  await card.locator("[data-testid=task-decline]").click();
  await en.screenshot({ path: `${SHOTS}/staff-offer-en.png`, fullPage: true });
  await card.locator("[data-testid=decline-back]").click();
  const enDone = await carryOut(en, card);
  outEn.done = enDone.done;
  await en.screenshot({ path: `${SHOTS}/staff-done-en.png`, fullPage: true });
  step("staff2 done");
  result.staff = { zh: out, en: outEn };
}

async function familyPage(username, lang, shot, waitFor) {
  const page = await open(username, lang);
  for (let i = 0; i < 40 && !(await page.locator(waitFor).count()); i++) {
    await page.waitForTimeout(500);
    await page.reload();
    await page.waitForFunction(() => window.anxinReady === true);
  }
  const out = { ...(await today(page)), bodyFontPx: await bodyFont(page) };
  await page.locator("[data-testid=family-alert] button.link").first().click();
  await page.locator("[data-testid=story-entry]").first().waitFor();
  out.story = await texts(page.locator("[data-testid=story-entry]"));
  out.messages = await texts(page.locator("[data-testid=family-message] strong"));
  out.states = await texts(page.locator("[data-testid=message-state]"));
  out.outboxStates = await texts(page.locator("[data-testid=family-message][data-event=all_clear] [data-testid=message-state]"));
  await page.screenshot({ path: `${SHOTS}/${shot}.png`, fullPage: true });
  return out;
}

try {
  if (process.env.PHASE === "before") {
    await before();
  } else {
    await staffPhones();
    const allClear = "[data-testid=family-message][data-event=all_clear]";
    const failed = "[data-testid=family-message][data-state=failed]";
    result.family1 = { zh: await familyPage("family1", "zh-CN", "family-story-zh", allClear),
      en: await familyPage("family1", "en", "family-story-en", allClear) };
    result.family2 = { zh: await familyPage("family2", "zh-CN", "family-undelivered-zh", failed),
      en: await familyPage("family2", "en", "family-undelivered-en", failed) };
  }
  result.ok = true;
} catch (error) {
  result.ok = false;
  result.error = String(error && error.stack || error);
} finally {
  await browser.close();
  console.log(JSON.stringify(result));
}
