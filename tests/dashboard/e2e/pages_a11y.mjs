// Every page, for the roles that see it, in both languages at 1366x768 and 390x844: axe-core (serious and
// critical violations), body text size on the family and staff pages, one language per page (names from the
// data allowed), a screenshot each. Then the sign-in page: the wait counted down, typed values kept across a
// language switch, the language kept across a reload and a sign-in. Prints one JSON line.
import { createRequire } from "node:module";

const require = createRequire(`${process.env.ANXIN_WEB}/package.json`);
const { chromium } = require("playwright-core");
const AxeBuilder = require("@axe-core/playwright").default;

const BASE = process.env.BASE_URL;
const SHOTS = process.env.SHOTS;
const PASSWORD = process.env.PASSWORD;
const NAMES = JSON.parse(process.env.NAMES || "[]");
const WAIT_BASE_S = Number(process.env.WAIT_BASE_S || 4);
const LOCALES = ["zh-CN", "en"];
const SIZES = [{ width: 1366, height: 768 }, { width: 390, height: 844 }];
const BIG_TEXT = new Set(["family", "staff"]);  // pages read by older eyes and on a phone: 16 px at least
const PHONE_PAGES = new Set(["family", "staff", "login", "reply"]);  // axe at phone size too; desk pages at desk size
// user (null: signed out) → the pages that user sees
const VISITS = [
  [null, [["login", "/login"], ["reply", "/reply/not-a-real-link"]]],
  ["operator", [["console", "/console"]]],
  ["supervisor", [["figures", "/figures"], ["visits", "/visits"], ["report", "/report"]]],
  ["staff1", [["staff", "/staff"]]],
  ["family1", [["family", "/family"]]],
];
const result = { pages: [], login: {} };
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });

async function ready(page) {
  await page.waitForFunction(() => window.anxinReady === true || window.anxinLoginReady === true, null, { timeout: 15000 })
    .catch(() => {});
  await page.waitForTimeout(300);  // the last render and transitions settle
}

// What a reader sees: visible text in the page's language (an element marked with another lang, such as the
// language switch, is that language's), the title and the labels; text smaller than 16 px; foreign script.
function reading({ names, big }) {
  const lang = document.documentElement.lang;
  const zh = lang.startsWith("zh");
  const seen = (el) => {
    const style = getComputedStyle(el);
    return style.visibility !== "hidden" && style.display !== "none" && el.getClientRects().length > 0;
  };
  const ownLanguage = (el) => {
    const marked = el.closest("[lang]");
    return !marked || marked === document.documentElement || marked.lang === lang;
  };
  const texts = [document.title];
  const small = new Map();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    const text = node.textContent.trim();
    if (!el || !text || el.closest("script, style, noscript, .leaflet-control-attribution") || !seen(el)) continue;
    if (ownLanguage(el)) texts.push(text);
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (big && size < 16) {
      const key = `${el.tagName.toLowerCase()}${el.className ? "." + String(el.className).split(" ").join(".") : ""} ${size}px`;
      if (!small.has(key)) small.set(key, text.slice(0, 40));
    }
  }
  for (const el of document.querySelectorAll("[aria-label], [placeholder], [title], img[alt]")) {
    if (!ownLanguage(el)) continue;
    for (const name of ["aria-label", "placeholder", "title", "alt"]) if (el.getAttribute(name)) texts.push(el.getAttribute(name));
  }
  let all = texts.join("\n");
  for (const name of names) all = all.split(name).join(" ");
  const foreign = [];
  if (zh) {
    const allowed = new Set(["SOS", "bpm", "mmHg", "km", "kPa", "SpO", "dB", "AutoNavi", "OpenStreetMap", "Leaflet", "ID", "GPS", "OK", "Excel"]);
    for (const m of all.matchAll(/(?<![A-Za-z0-9_.@\/-])[A-Za-z]{2,}(?:['’ ][A-Za-z]+)*(?![A-Za-z0-9_@\/-])/g)) {
      if (!m[0].split(/['’ ]/).every((w) => allowed.has(w))) foreign.push(all.slice(Math.max(0, m.index - 15), m.index + m[0].length + 15));
    }
  } else {
    for (const m of all.matchAll(/[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff01-\uff60]+/g)) {
      foreign.push(all.slice(Math.max(0, m.index - 15), m.index + m[0].length + 15));
    }
  }
  return { foreign: [...new Set(foreign)].slice(0, 15), small: [...small].slice(0, 15).map(([k, v]) => `${k}: ${v}`) };
}

async function axe(page) {
  const found = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  return found.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => ({
    id: v.id,
    impact: v.impact,
    nodes: v.nodes.slice(0, 4).map((n) => `${n.target.join(" ")} :: ${(n.failureSummary || "").replace(/\s+/g, " ").slice(0, 200)}`),
  }));
}

async function sweep(locale) {
  for (const [username, pages] of VISITS) {
    const context = await browser.newContext({ viewport: SIZES[0], locale, timezoneId: "Asia/Shanghai", bypassCSP: true });
    await context.addInitScript((l) => localStorage.setItem("anxin.locale", l), locale);
    if (username) {
      const signed = await context.request.post(`${BASE}/api/auth/login`, { data: { username, password: PASSWORD } });
      if (!signed.ok()) throw new Error(`sign-in of ${username}: ${signed.status()}`);
    }
    const page = await context.newPage();
    page.on("pageerror", (error) => console.error(`page error (${username} ${locale}): ${error.message}`));
    for (const [name, path] of pages) {
      for (const size of SIZES) {
        const started = Date.now();
        await page.setViewportSize(size);
        await page.goto(`${BASE}${path}`);
        await ready(page);
        const shot = `${SHOTS}/${name}-${locale}-${size.width}.png`;
        await page.screenshot({ path: shot, fullPage: true });
        const read = await page.evaluate(reading, { names: NAMES, big: BIG_TEXT.has(name) && size.width === 390 });
        const url = new URL(page.url()).pathname;
        const loaded = Date.now() - started;
        const violations = size === SIZES[0] || PHONE_PAGES.has(name) ? await axe(page) : [];
        const ms = { loaded, total: Date.now() - started };
        result.pages.push({ page: name, user: username, locale, width: size.width, shot, url, ms, axe: violations, ...read });
      }
    }
    await context.close();
  }
}

async function submit(page, username, password) {
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", password);
  const answered = page.waitForResponse((r) => r.url().endsWith("/api/auth/login"));
  await page.click("[data-testid=login-submit]");
  await answered;
  await page.waitForTimeout(100);
}

async function throttled(locale, username) {
  const context = await browser.newContext({ viewport: SIZES[1], locale, timezoneId: "Asia/Shanghai" });
  const page = await context.newPage();
  await page.goto(`${BASE}/login`);
  await page.evaluate((l) => localStorage.setItem("anxin.locale", l), locale);
  await page.reload();
  await ready(page);
  for (let n = 1; n <= 3; n += 1) await submit(page, username, `wrong-${n}`);
  const waiting = page.locator("[data-testid=login-wait]");
  const first = Number(await waiting.getAttribute("data-seconds"));
  const out = {
    wait_text: await waiting.innerText(),
    error_text: await page.locator("[data-testid=login-error]").innerText(),
    disabled_while_waiting: await page.locator("[data-testid=login-submit]").isDisabled(),
  };
  out.error_foreign = locale === "en" ? /[\u3400-\u9fff]/.test(out.error_text) : /[A-Za-z]{3,}/.test(out.error_text);
  await page.screenshot({ path: `${SHOTS}/login-wait-${locale}-390.png` });
  await page.waitForTimeout(1300);
  out.counted_down = Number(await waiting.getAttribute("data-seconds")) < first;
  out.enabled_after = await page.waitForFunction(() => !document.querySelector("[data-testid=login-submit]").disabled, null,
    { timeout: (WAIT_BASE_S + 3) * 1000 }).then(() => true, () => false);
  out.after_text = await waiting.innerText();
  await page.fill("input[name=password]", PASSWORD);
  await page.click("[data-testid=login-submit]");
  out.signed_in = await page.waitForURL((url) => !url.pathname.startsWith("/login"), { timeout: 10000 }).then(() => true, () => false);
  await context.close();
  return out;
}

async function switchAndKeep() {
  const context = await browser.newContext({ viewport: SIZES[0], locale: "zh-CN", timezoneId: "Asia/Shanghai" });
  const page = await context.newPage();
  await page.goto(`${BASE}/login`);
  await ready(page);
  await page.fill("input[name=username]", "operator");
  await page.fill("input[name=password]", "typed-secret");
  await page.click("#locale-switch");
  await page.waitForFunction(() => document.documentElement.lang === "en");
  result.login.switch = {
    username: await page.inputValue("input[name=username]"),
    password: await page.inputValue("input[name=password]"),
    title: (await page.locator("[data-i18n='login.title']").innerText()).trim(),
    lang: await page.evaluate(() => document.documentElement.lang),
  };
  await page.reload();
  await ready(page);
  const afterReload = await page.evaluate(() => document.documentElement.lang);
  await page.fill("input[name=username]", "family2");
  await page.fill("input[name=password]", PASSWORD);
  await page.click("[data-testid=login-submit]");
  await page.waitForURL((url) => url.pathname === "/family", { timeout: 10000 });
  await ready(page);
  result.login.persisted = {
    after_reload: afterReload,
    after_sign_in: await page.evaluate(() => document.documentElement.lang),
    user_locale: await page.evaluate(() => fetch("/api/auth/me").then((r) => r.json()).then((u) => u.locale)),
  };
  await context.close();
}

try {
  // Side by side in one browser, a context each: the two languages' sweeps and the sign-in checks (their
  // accounts are not the sweep's, whose sign-ins would forget the failures being counted).
  await Promise.all([
    ...LOCALES.map(sweep),
    throttled("zh-CN", "admin").then((seen) => { result.login["zh-CN"] = seen; }),
    throttled("en", "staff2").then((seen) => { result.login.en = seen; }),
    switchAndKeep(),
  ]);
  result.ok = true;
} catch (error) {
  result.error = String(error.stack || error);
} finally {
  await browser.close();
  console.log(JSON.stringify(result));
}
