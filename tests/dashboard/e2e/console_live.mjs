// Two operator consoles in headless Chromium (Debian's, driven by playwright-core from dashboard/web)
// follow one case live: an SOS arrives; the escalation clock fires and both consoles re-alarm until
// operator 1 acknowledges; operator 1 claims the case and console 2 sees who has it and is refused when
// it dispatches; operator 1 dispatches, the staff member declines and console 2 shows it; a staff position
// moves the marker; a provisional alert shows marked and merges with the stored one; a note and the
// handover view; the keyboard shortcuts; the same console in English.
//
// The Python test runs this script: a line "do <action>" asks it to act on the platform (sos, escalate,
// decline, position, provisional, store) and it answers "done"; the last line is a JSON result.
import { createRequire } from "node:module";
import { createInterface } from "node:readline";

const require = createRequire(`${process.env.ANXIN_WEB}/package.json`);
const { chromium } = require("playwright-core");
const BASE = process.env.BASE_URL;
const SHOTS = process.env.SHOTS;
const PASSWORD = process.env.PASSWORD;
const MOVED_TO = JSON.parse(process.env.MOVED_TO);
const VIEWPORT = { width: 1366, height: 768 };
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const result = { steps: [], shots: [] };
const step = (name) => { result.steps.push(name); console.error(`step: ${name}`); };

async function ask(action) {
  console.log(`do ${action}`);
  const answer = await lines.next();
  if (answer.value !== "done") throw new Error(`the test did not do ${action}: ${answer.value}`);
}

async function shot(page, name) {
  await page.waitForTimeout(250);  // let the last render and the tooltip fade settle
  await page.screenshot({ path: `${SHOTS}/${name}.png` });
  result.shots.push(name);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
});

async function signIn(username) {
  const context = await browser.newContext({ viewport: VIEWPORT, locale: "zh-CN", timezoneId: "Asia/Shanghai" });
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error(`[${username}] page error: ${error.message}`));
  page.on("console", (m) => {  // the tile server is unreachable on purpose: markers must show without it
    if (m.type() === "error" && !m.text().includes("ERR_UNSAFE_PORT")) console.error(`[${username}] console: ${m.text()}`);
  });
  await page.goto(`${BASE}/login`);
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", PASSWORD);
  await page.click("[data-testid=login-submit]");
  await page.waitForFunction(() => window.anxinReady === true, null, { timeout: 45000 });
  await page.waitForFunction(() => document.getElementById("live-status").classList.contains("up"));
  return page;
}

const both = async (one, two, fn) => ({ one: await fn(one), two: await fn(two) });
const item = (page, resident) => page.locator(`[data-testid=queue-item][data-resident-id=${resident}]:not([data-provisional])`);

try {
  const one = await signIn("operator");
  const two = await signIn("desk2");
  step("two operators signed in");

  await ask("sos");
  await item(one, "r1").waitFor({ timeout: 15000 });
  await item(two, "r1").waitFor({ timeout: 15000 });
  const alertId = await item(one, "r1").getAttribute("data-alert-id");
  step("the SOS is on both consoles");

  await ask("escalate");
  await both(one, two, (p) => p.locator("[data-testid=realarm]").waitFor({ state: "visible", timeout: 15000 }));
  await one.waitForTimeout(4500);  // long enough for the tone to come round again
  result.realarm = await both(one, two, (p) => p.locator(`[data-testid=realarm-alert][data-alert-id="${alertId}"]`).isVisible());
  result.ringing = await both(one, two, (p) => p.evaluate(() => window.anxinAlarm.ringing && window.anxinAlarm.rings >= 2));
  result.realarmText = await two.locator("[data-testid=realarm]").textContent();
  await shot(two, "console-realarm-zh");
  step("both consoles re-alarm");

  await item(one, "r1").click();
  await one.click("[data-testid=claim]");
  await one.waitForSelector("[data-testid=claim-status][data-claimed-by^=operator]");
  await item(two, "r1").click();
  const claimTag = item(two, "r1").locator("[data-testid=claim-tag]");
  await claimTag.waitFor({ timeout: 15000 });
  result.claimSeenByTwo = await claimTag.textContent();
  result.residentCall = await two.locator("[data-testid=call-resident]").getAttribute("href");
  step("console 2 sees who has the case");

  await one.click("[data-testid=case-ack]");
  await both(one, two, (p) => p.waitForSelector("[data-testid=case-state][data-state=acknowledged]", { timeout: 15000 }));
  await both(one, two, (p) => p.locator("[data-testid=realarm]").waitFor({ state: "hidden", timeout: 15000 }));
  result.quietAfterAck = await both(one, two, (p) => p.evaluate(() => window.anxinAlarm.ringing));
  step("acknowledged: the re-alarm stops everywhere");

  await two.locator("[data-testid=dispatch-suggested]").waitFor({ timeout: 15000 });
  await two.click("[data-testid=dispatch-suggested]");
  await two.waitForSelector("#toast.show.error");
  result.refusal = await two.locator("#toast").textContent();
  await shot(two, "console-claimed-zh");
  step(`console 2's dispatch refused: ${result.refusal}`);

  await one.locator("[data-testid=dispatch-suggested]").waitFor();
  await one.click("[data-testid=dispatch-suggested]");
  await two.locator("[data-testid=task][data-state=offered]").waitFor({ timeout: 15000 });
  step("operator 1 dispatched; console 2 sees the offer");

  await ask("decline");
  const declined = two.locator("[data-testid=timeline-entry][data-what=declined]");
  await declined.waitFor({ timeout: 15000 });
  result.declineOnTwo = await declined.textContent();
  await two.locator("[data-testid=task][data-state=declined]").waitFor({ timeout: 15000 });
  result.queueLineOnTwo = await item(two, "r1").locator("[data-testid=dispatch-line]").textContent();
  await shot(two, "console-dispatch-live-zh");
  step(`console 2 sees the decline: ${result.declineOnTwo}`);

  const before = await two.evaluate(() => window.anxinStaffAt("s1"));
  await ask("position");
  await two.waitForFunction((b) => JSON.stringify(window.anxinStaffAt("s1")) !== JSON.stringify(b), before, { timeout: 15000 });
  const after = await two.evaluate(() => window.anxinStaffAt("s1"));
  result.marker = { before, after };
  result.markerMoved = Math.abs(after[0] - MOVED_TO[0]) < 0.02 && Math.abs(after[1] - MOVED_TO[1]) < 0.02;
  step("the staff marker moved");

  await ask("provisional");
  const pending = two.locator("[data-testid=queue-item][data-provisional][data-resident-id=r2]");
  await pending.waitFor({ timeout: 15000 });
  await one.locator("[data-testid=queue-item][data-provisional][data-resident-id=r2]").waitFor({ timeout: 15000 });
  result.provisionalTag = await pending.locator("[data-testid=provisional-tag]").textContent();
  result.provisionalButtons = await pending.locator("button").count();
  await shot(two, "console-provisional-zh");
  await ask("store");
  await item(two, "r2").waitFor({ timeout: 15000 });
  await pending.waitFor({ state: "detached", timeout: 15000 });
  result.mergedItems = {
    r2: await two.locator("[data-testid=queue-item][data-resident-id=r2]").count(),
    provisional: await two.locator("[data-testid=queue-item][data-provisional]").count(),
  };
  step("the provisional alert merged with the stored one");

  await one.keyboard.press("n");
  await one.keyboard.type("女儿在路上，约十分钟到");  // "a", "d", "j" typed here must not act
  result.typingIgnored = (await one.locator("[data-testid=case-state]").getAttribute("data-state")) === "dispatched"
    && (await one.locator(".queue-item.selected").getAttribute("data-alert-id")) === alertId;
  await one.click("[data-testid=note-add]");
  const note = two.locator("[data-testid=timeline-entry][data-source=note] .note-text");
  await note.waitFor({ timeout: 15000 });
  result.noteOnTwo = await note.textContent();
  step("a note reaches console 2");

  await two.keyboard.press("?");
  result.shortcutsShown = await two.locator("[data-testid=shortcuts]").isVisible();
  await shot(two, "console-shortcuts-zh");
  await two.keyboard.press("Escape");

  await two.click("[data-testid=handover-toggle]");
  await two.locator("[data-testid=handover-row]").first().waitFor();
  result.handoverRows = await two.locator("[data-testid=handover-row]").count();
  await shot(two, "console-handover-zh");
  step("handover");

  await two.click("[data-testid=handover-toggle]");
  await ask("escalate");  // r2 now climbs its ladder: the English console re-alarms too
  await one.click("#locale-switch");
  await one.waitForFunction(() => window.anxinReady === true && document.documentElement.lang === "en");
  await one.locator("[data-testid=realarm]").waitFor({ state: "visible", timeout: 15000 });
  result.englishBanner = await one.locator("[data-testid=realarm]").textContent();
  await item(one, "r1").click();
  await one.locator("[data-testid=timeline-entry][data-source=note]").waitFor();
  await shot(one, "console-case-en");
  await one.goto(`${BASE}/console?view=handover`);
  await one.waitForFunction(() => window.anxinReady === true);
  await one.locator("[data-testid=handover-row]").first().waitFor();
  await shot(one, "console-handover-en");
  step("English");
  result.ok = true;
} catch (error) {
  result.ok = false;
  result.error = String(error.stack || error);
} finally {
  await browser.close();
  console.log(JSON.stringify(result));
  process.exit(0);
}
