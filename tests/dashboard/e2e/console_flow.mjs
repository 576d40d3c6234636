// End to end in headless Chromium (Debian's, driven by playwright-core from dashboard/web): an operator
// signs in, an SOS published on MQTT appears, is acknowledged, dispatched to the suggested staff member,
// who accepts and arrives on the staff page; the operator resolves it; family members look.
//
// The Python test runs this script and talks to it line by line: the script prints "ready" when the
// console is open, the test publishes the SOS and answers "go", the script prints a JSON result last.
import { createRequire } from "node:module";
import { createInterface } from "node:readline";

const require = createRequire(`${process.env.ANXIN_WEB}/package.json`);
const { chromium } = require("playwright-core");
const BASE = process.env.BASE_URL;
const SHOTS = process.env.SHOTS;
const PASSWORD = process.env.PASSWORD;
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const result = { steps: [] };
const step = (name, extra = {}) => { result.steps.push({ name, ...extra }); console.error(`step: ${name}`); };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
});

async function signIn(username, viewport) {
  const context = await browser.newContext({ viewport, locale: "zh-CN", timezoneId: "Asia/Shanghai" });
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error(`[${username}] page error: ${error.message}`));
  page.on("console", (m) => { if (m.type() === "error") console.error(`[${username}] console: ${m.text()}`); });
  page.on("requestfailed", (r) => console.error(`[${username}] request failed: ${r.url()} ${r.failure()?.errorText}`));
  await page.goto(`${BASE}/login`);
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", PASSWORD);
  await page.click("[data-testid=login-submit]");
  await page.waitForFunction(() => window.anxinReady === true, null, { timeout: 45000 });  // a loaded CI machine
  return page;
}

try {
  const operator = await signIn("operator", { width: 1440, height: 900 });
  step("operator signed in", { url: operator.url() });
  await operator.waitForFunction(() => document.getElementById("live-status").classList.contains("up"));
  console.log("ready");
  await lines.next();  // the test published the SOS
  const t0 = Date.now();
  const item = operator.locator("[data-testid=queue-item]").first();
  await item.waitFor({ timeout: 15000 });
  const appearedMs = Date.now() - t0;
  const alertId = await item.getAttribute("data-alert-id");
  step("alert appeared", { appearedMs, alertId });
  result.appearedMs = appearedMs;
  result.alertId = alertId;
  result.flashed = await item.evaluate((n) => n.classList.contains("flash") && document.body.classList.contains("alarm"));
  result.countdown = await item.locator(".countdown").textContent();
  result.mapMarkers = await operator.locator("#map path.leaflet-interactive").count();
  await operator.screenshot({ path: `${SHOTS}/console-new-alert.png` });

  await item.click();
  await operator.click("[data-testid=case-ack]");
  await operator.waitForSelector("[data-testid=case-state][data-state=acknowledged]");
  step("acknowledged");

  const suggested = operator.locator("[data-testid=candidate]").first();
  await suggested.waitFor();
  result.suggestedStaff = await suggested.getAttribute("data-staff-id");
  await operator.screenshot({ path: `${SHOTS}/console-dispatch.png` });
  await operator.click("[data-testid=dispatch-suggested]");
  await operator.waitForSelector("[data-testid=case-state][data-state=dispatched]");
  const task = operator.locator("[data-testid=task]").first();
  await task.waitFor();
  step("dispatched", { staff: result.suggestedStaff });

  const staff = await signIn(process.env.STAFF_USER, { width: 390, height: 844 });
  await staff.locator("[data-testid=staff-task]").first().waitFor();
  await staff.click("[data-testid=task-accept]");
  await staff.waitForSelector("[data-testid=staff-task][data-state=accepted]");
  await staff.screenshot({ path: `${SHOTS}/staff-task.png`, fullPage: true });
  await staff.click("[data-testid=task-on_site]");
  await staff.waitForSelector("[data-testid=staff-task][data-state=on_site]");
  step("staff accepted and arrived");

  await operator.waitForSelector("[data-testid=case-state][data-state=on_site]", { timeout: 15000 });
  step("operator sees on site");
  await operator.click("[data-testid=case-resolve]");  // closing asks for an outcome, then to confirm
  await operator.check("[data-testid=outcome-no_injury]");
  await operator.click("[data-testid=close-next]");
  await operator.click("[data-testid=close-confirm-button]");
  await operator.waitForSelector("[data-testid=case-state][data-state=resolved]");
  result.timeline = await operator.locator("[data-testid=timeline-entry]").allTextContents();
  await operator.screenshot({ path: `${SHOTS}/console-resolved.png` });
  step("resolved");

  const family = await signIn("family1", { width: 390, height: 844 });
  const mine = family.locator(`[data-testid=family-alert][data-alert-id="${alertId}"]`);
  await mine.waitFor({ timeout: 15000 });
  await mine.locator("button.link").click();
  await family.locator("[data-testid=family-alert] [data-testid=story-entry]").first().waitFor();  // the family story, not the desk timeline
  result.familySees = true;
  await family.screenshot({ path: `${SHOTS}/family.png`, fullPage: true });
  step("family of the resident sees the case");

  const other = await signIn("family2", { width: 390, height: 844 });
  await other.locator("[data-testid=relative]").first().waitFor();
  result.otherFamilySees = await other.locator(`[data-testid=family-alert][data-alert-id="${alertId}"]`).count() > 0;
  result.otherFamilyResidents = await other.locator("[data-testid=relative]").evaluateAll((n) => n.map((x) => x.dataset.residentId));
  await other.screenshot({ path: `${SHOTS}/family-other.png`, fullPage: true });
  step("other family does not see it");
  await other.click("#locale-switch");
  await other.waitForFunction(() => window.anxinReady === true && document.documentElement.lang === "en");
  result.englishTitle = await other.locator("header h1").textContent();
  await other.screenshot({ path: `${SHOTS}/family-other-en.png`, fullPage: true });

  const supervisor = await signIn("supervisor", { width: 1440, height: 900 });
  await supervisor.locator("[data-testid=figures] .number").first().waitFor();
  await supervisor.waitForTimeout(300);
  await supervisor.screenshot({ path: `${SHOTS}/figures.png`, fullPage: true });
  step("figures");
  result.ok = true;
} catch (error) {
  result.ok = false;
  result.error = String(error.stack || error);
} finally {
  await browser.close();
  console.log(JSON.stringify(result));
  process.exit(0);
}
