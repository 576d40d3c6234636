// The operator console tells the truth and is safe (issue 13), in headless Chromium (Debian's, driven by
// playwright-core from dashboard/web): two consoles at 1366x768 in Chinese, one switched to English, one
// at 390x844. Run by tests/dashboard/test_console_desk.py: a line "do <action>" asks it to act on the
// platform (sos_r1, sos_r2, decline, expire) and it answers "done"; the last line is a JSON result.
import { createRequire } from "node:module";
import { holdReads } from "./held.mjs";
import { createInterface } from "node:readline";

const require = createRequire(`${process.env.ANXIN_WEB}/package.json`);
const { chromium } = require("playwright-core");
const BASE = process.env.BASE_URL;
const SHOTS = process.env.SHOTS;
const PASSWORD = process.env.PASSWORD;
const DATA_WORDS = JSON.parse(process.env.DATA_WORDS);  // shown as stored: names, addresses, ids
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const result = { steps: [], shots: [], errors: [] };
const step = (name) => { result.steps.push(name); console.error(`step: ${name}`); };

// Words of the page itself, allowed in a Chinese page: the acronym on the bracelet's key, the name of the
// other language on its switch, the map's credit.
const LATIN_ALLOWED = new Set(["SOS", "English", "AutoNavi"]);
const CJK_ALLOWED = new Set(["中文", "高德地图"]);  // and in an English page: the switch back, the map's credit
const LATIN_WORD = /[A-Za-z][A-Za-z'’]+/g;
const CJK = /[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+/g;

async function ask(action) {
  console.log(`do ${action}`);
  const answer = await lines.next();
  if (answer.value !== "done") throw new Error(`the test did not do ${action}: ${answer.value}`);
}

async function shot(page, name, fullPage = false) {
  await page.waitForTimeout(250);
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage });
  result.shots.push(name);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
});

async function signIn(username, viewport = { width: 1366, height: 768 }) {
  const context = await browser.newContext({ viewport, locale: "zh-CN", timezoneId: "Asia/Shanghai" });
  const page = await context.newPage();
  page.on("pageerror", (error) => result.errors.push(`[${username}] ${error.message}`));
  await page.goto(`${BASE}/login`);
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", PASSWORD);
  await page.click("[data-testid=login-submit]");
  try {
    await page.waitForFunction(() => window.anxinReady === true, null, { timeout: 45000 });
  } catch (error) {
    throw new Error(`${username} not signed in at ${page.url()}: ${(await page.locator("body").innerText()).slice(0, 300)}`);
  }
  await page.waitForFunction(() => document.getElementById("live-status").classList.contains("up"));
  return page;
}

const item = (page, resident) => page.locator(`[data-testid=queue-item][data-resident-id=${resident}]:not([data-provisional])`);
const order = (page) => page.locator("[data-testid=queue-item]:not([data-provisional])").evaluateAll((n) => n.map((x) => x.dataset.residentId));
const caseState = (page) => page.locator("[data-testid=case-state]").getAttribute("data-state");
const tasksOf = (page) => page.locator("[data-testid=task]").evaluateAll((nodes) => {
  const latest = {};  // staff id → the state of their latest assignment (the list is newest first)
  for (const n of nodes) latest[n.dataset.staffId] ??= n.dataset.state;
  return latest;
});

// The visible text of the page (open dialog included) with the data's own words taken out.
async function pageWords(page) {
  let text = await page.evaluate(() => document.body.innerText);
  for (const word of DATA_WORDS) text = text.replaceAll(word, " ");
  return text;
}

async function latinIn(page) {
  const words = (await pageWords(page)).match(LATIN_WORD) || [];
  return [...new Set(words.filter((w) => !LATIN_ALLOWED.has(w)))];
}

async function cjkIn(page) {
  return [...new Set(((await pageWords(page)).match(CJK) || []).filter((w) => !CJK_ALLOWED.has(w)))];
}

// Every number of the candidate table, its reasons and the summary, from the one estimate per row.
async function readCandidates(page) {
  return page.evaluate(() => {
    const num = (text) => (text.match(/\d+/g) || []).map(Number);
    const rows = [...document.querySelectorAll("[data-testid=candidate]")].map((row) => {
      const name = row.querySelector("[data-testid=candidate-name]");
      const range = document.createRange();
      range.selectNodeContents(name);
      const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
      return {
        staff: row.dataset.staffId, eta: Number(row.dataset.eta), margin: Number(row.dataset.margin),
        etaText: row.querySelector("[data-testid=candidate-eta]").textContent,
        marginText: row.querySelector("[data-testid=candidate-margin]").textContent,
        why: row.querySelector("[data-testid=candidate-why]").textContent,
        code: row.querySelector("[data-testid=candidate-why]").dataset.code,
        nameLines: tops.size,
      };
    });
    const summary = document.querySelector("[data-testid=dispatch-summary]")?.textContent || "";
    const wrong = [];
    rows.forEach((r, i) => {
      if (num(r.etaText)[0] !== r.eta) wrong.push(`${r.staff}: ETA cell ${r.etaText} is not ${r.eta}`);
      if (num(r.marginText)[0] !== Math.abs(r.margin)) wrong.push(`${r.staff}: margin cell ${r.marginText} is not ${r.margin}`);
      const behind = r.eta - rows[0].eta;
      if (i === 0 && r.code !== "fastest") wrong.push(`${r.staff}: first but ${r.code}`);
      if (i > 0 && r.code === "slower" && !(behind > 0 && num(r.why)[0] === behind)) wrong.push(`${r.staff}: ${r.why} vs ${behind} min behind`);
      if (i > 0 && r.code === "as_fast" && behind !== 0) wrong.push(`${r.staff}: as fast but ${behind} min behind`);
      if (/慢\s*0\s*分钟|0 min slower/.test(r.why)) wrong.push(`${r.staff}: ${r.why}`);
    });
    if (rows.length) {
      const first = rows[0];
      const said = num(summary);
      if (!said.includes(first.eta) || !said.includes(Math.abs(first.margin))) wrong.push(`summary ${summary} vs ${first.eta}/${first.margin}`);
    }
    return { rows, summary, wrong };
  });
}

try {
  const one = await signIn("operator");
  const two = await signIn("desk2");
  step("two operators signed in");

  await ask("sos_r1");
  await item(one, "r1").waitFor({ timeout: 15000 });
  await item(two, "r1").waitFor({ timeout: 15000 });
  await item(one, "r1").click();
  await one.click("[data-testid=case-ack]");
  await one.waitForSelector("[data-testid=case-state][data-state=acknowledged]");
  await one.locator("[data-testid=candidate]").first().waitFor();
  const table = await readCandidates(one);
  result.candidates = table.rows;
  result.summary = table.summary;
  result.candidateMismatches = table.wrong;
  result.nameLines = Math.max(...table.rows.map((r) => r.nameLines));
  await shot(one, "console-candidates-zh");

  // Two reads of the case in flight, the older answering last: the case must not go back to a state it has
  // left. A read made by choosing the case again is held; giving up the claim (acknowledging took it) is
  // answered at once; then the held (still claimed) answer arrives. The case is claimed again after.
  const caseReads = await holdReads(one, /\/api\/alerts\/\d+$/);
  await item(one, "r1").click();
  result.lateCaseReads = await caseReads.count();
  caseReads.pass();
  await one.click("[data-testid=release]");
  await one.waitForSelector("[data-testid=claim]");
  await caseReads.release();
  result.claimAfterLateRead = await one.locator("[data-testid=claim-status]").getAttribute("data-claimed-by");
  if (await one.locator("[data-testid=claim]").count()) await one.click("[data-testid=claim]");  // else the late read drew
  await one.waitForSelector("[data-testid=release]");
  step("a late read of the case drew nothing");

  // the desk asks r1's bracelet to call its number (typed with spaces and a dash, as people do); the
  // case's timeline says so, in Chinese, on the operator's own console
  await one.fill("[data-testid=bracelet-number]", "0571-8888 6666");
  // The case is drawn again while the number is typed (as a live change does): the number stays.
  await one.$eval("[data-testid=bracelet-number]", (n) => { n.dataset.drawnBefore = "1"; });
  await item(one, "r1").click();
  await one.waitForSelector("[data-testid=bracelet-number]:not([data-drawn-before])");
  result.numberAfterRedraw = await one.inputValue("[data-testid=bracelet-number]");
  if (result.numberAfterRedraw !== "0571-8888 6666") await one.fill("[data-testid=bracelet-number]", "0571-8888 6666");  // said below
  await one.click("[data-testid=bracelet-call]");
  const asked = one.locator("[data-testid=timeline-entry][data-source=command]");
  await asked.first().waitFor({ timeout: 10000 });
  result.braceletAsked = await asked.first().innerText();
  await one.click("[data-testid=bracelet-locate]");
  await asked.nth(1).waitFor({ timeout: 10000 });
  result.braceletLocated = await asked.nth(1).innerText();
  step("the bracelet asked to call the desk and to locate");
  step("the candidate table is read");

  await one.click("[data-testid=dispatch-suggested]");
  await one.waitForSelector("[data-testid=case-state][data-state=dispatched]");
  await item(two, "r1").and(two.locator("[data-state=dispatched]")).waitFor({ timeout: 15000 });
  result.ackOnDispatched = {
    queue: await item(one, "r1").locator("[data-testid=ack]").count(),
    case: await one.locator("[data-testid=case-ack]").count(),
  };
  await one.locator("body").click({ position: { x: 5, y: 760 } });
  await one.keyboard.press("a");
  await one.waitForTimeout(600);
  result.toastAfterKey = await one.locator("#toast.show").count() ? await one.locator("#toast").textContent() : null;
  result.stateAfterKey = await caseState(one);
  step("a dispatched alert offers no acknowledge");

  await ask("sos_r2");
  await item(one, "r2").waitFor({ timeout: 15000 });
  await item(two, "r2").waitFor({ timeout: 15000 });
  result.order = { one: await order(one), two: await order(two) };
  await shot(one, "console-queue-order-zh");
  step(`queue order ${JSON.stringify(result.order)}`);

  // The operator moves from r1's case to r2's while r1's reads are still out; r1's answers arrive last and
  // must not put r1's notes and contacts beside r2's case.
  const residentName = one.locator("[data-testid=resident-name]");
  const r1Name = (await residentName.innerText()).trim();
  const r1Reads = await holdReads(one, /\/api\/residents\/r1(\/|$|\?)/);
  await item(one, "r1").click();
  result.lateResidentReads = await r1Reads.count(3);  // the resident, the vitals and the activity
  await item(one, "r2").click();
  await one.waitForFunction((before) => {
    const shown = document.querySelector("[data-testid=resident-name]");
    return shown && !shown.textContent.startsWith(before);
  }, r1Name.split(" ")[0], { timeout: 15000 });
  result.r2Name = (await residentName.innerText()).trim();
  await r1Reads.release();
  result.nameAfterLateReads = (await residentName.innerText()).trim();
  await item(one, "r1").click();
  await one.waitForFunction((name) => document.querySelector("[data-testid=resident-name]")?.textContent.trim() === name, r1Name);
  step("a late read of r1 drew nothing beside r2's case");

  await item(two, "r1").click();
  await two.locator("[data-testid=task][data-state=offered]").waitFor({ timeout: 15000 });
  await ask("decline");
  await two.locator("[data-testid=task][data-staff-id=s2][data-state=offered]").waitFor({ timeout: 15000 });
  await two.locator("[data-testid=task][data-staff-id=s1][data-state=declined]").waitFor({ timeout: 15000 });
  result.afterDecline = await tasksOf(two);
  result.tasksAfterDecline = await two.locator("[data-testid=task]").allTextContents();
  result.declineLabel = await two.locator("[data-testid=task][data-staff-id=s1] [data-testid=task-state]").first().textContent();
  await shot(two, "console-decline-zh");
  step("the decline reached console 2");

  await ask("expire");
  const timedOut = two.locator("[data-testid=task][data-staff-id=s2][data-state=timed_out]");
  await timedOut.waitFor({ timeout: 15000 });
  result.afterTimeout = await tasksOf(two);
  result.tasksAfterTimeout = await two.locator("[data-testid=task]").allTextContents();
  result.timeoutTask = await timedOut.textContent();
  const timeoutEntry = two.locator("[data-testid=timeline-entry][data-what=timed_out]");
  await timeoutEntry.waitFor({ timeout: 15000 });
  result.timeoutTimeline = await timeoutEntry.textContent();
  await item(two, "r1").locator("[data-testid=dispatch-line]").filter({ hasText: "超时未接单" }).waitFor({ timeout: 15000 });
  result.timeoutLine = await item(two, "r1").locator("[data-testid=dispatch-line]").textContent();
  await two.locator("#timeline").scrollIntoViewIfNeeded();
  await shot(two, "console-timeout-zh");
  result.latinInZh = [...await latinIn(two), ...await latinIn(one)];
  step("the timeout reached console 2, labelled as such");

  await two.click("#locale-switch");
  await two.waitForFunction(() => window.anxinReady === true && document.documentElement.lang === "en");
  await item(two, "r1").click();
  await two.locator("[data-testid=timeline-entry][data-what=timed_out]").waitFor({ timeout: 15000 });
  await two.locator("[data-testid=task]").first().waitFor();
  result.cjkInEn = await cjkIn(two);
  await shot(two, "console-timeout-en");
  step("console 2 in English");

  // Closing: no default, not without an outcome, Escape backs out, the keyboard does the rest.
  await one.click("[data-testid=case-resolve]");
  const dialog = one.locator("[data-testid=close-dialog]");
  await dialog.waitFor();
  result.outcomeDefault = await dialog.locator("input[type=radio]:checked").count() ? await dialog.locator("input[type=radio]:checked").getAttribute("value") : null;
  result.focusInDialog = await one.evaluate(() => document.querySelector("[data-testid=close-dialog]").contains(document.activeElement));
  await one.click("[data-testid=close-next]");
  await one.waitForTimeout(300);
  result.closeWithoutOutcome = {
    open: await dialog.isVisible(), error: (await one.locator("[data-testid=close-error]").textContent()).trim(),
    state: await caseState(one),
  };
  result.latinInZh.push(...await latinIn(one));
  await shot(one, "console-close-dialog-zh");
  await one.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  result.escapeKeepsOpen = await caseState(one);
  await one.focus("[data-testid=case-resolve]");
  await one.keyboard.press("Enter");
  await dialog.waitFor();
  await one.keyboard.press("ArrowDown");  // from the first outcome (focused, not chosen) to the second: chosen
  await one.keyboard.press("Enter");
  await one.locator("[data-testid=close-confirm]").waitFor();
  result.confirmText = await one.locator("[data-testid=close-confirm-text]").textContent();
  await shot(one, "console-close-confirm-zh");
  await one.click("[data-testid=close-confirm-button]");
  await one.waitForSelector("[data-testid=case-state][data-state=resolved]", { timeout: 15000 });
  result.resolvedState = await caseState(one);
  step("resolved through the dialog");

  await one.click("#locale-switch");
  await one.waitForFunction(() => window.anxinReady === true && document.documentElement.lang === "en");
  await item(one, "r2").click();
  await one.click("[data-testid=case-ack]");
  await one.locator("[data-testid=candidate]").first().waitFor();
  await shot(one, "console-candidates-en");
  await one.click("[data-testid=case-resolve]");
  await one.check("[data-testid=outcome-no_injury]");
  await one.click("[data-testid=close-next]");
  await one.locator("[data-testid=close-confirm]").waitFor();
  result.englishConfirm = await one.locator("[data-testid=close-confirm-text]").textContent();
  result.cjkInEn.push(...await cjkIn(one));
  await shot(one, "console-close-confirm-en");
  await one.keyboard.press("Escape");
  step("English");

  await one.context().close();  // the desk consoles are done: the phone is the only page open now
  await two.context().close();
  const phone = await signIn("operator", { width: 390, height: 844 });
  await item(phone, "r2").click();
  await phone.locator("[data-testid=candidate]").first().waitFor({ timeout: 15000 });
  result.phone = {
    overflow: await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth),
    caseShown: await phone.locator("#case-body").isVisible(),
  };
  await shot(phone, "console-phone", true);
  step("the console at 390x844");
  result.ok = true;
} catch (error) {
  result.ok = false;
  result.error = String(error.stack || error);
} finally {
  await browser.close();
  console.log(JSON.stringify(result));
  process.exit(0);
}
