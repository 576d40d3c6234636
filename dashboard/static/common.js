// Shared by every page: the API, the signed-in user, strings in two languages, times in the configured zone,
// and the live WebSocket. Plain ES module; the session travels in an HttpOnly cookie, never in script.

const state = { config: null, strings: {}, locale: "zh-CN", user: null };

export async function api(path, options = {}) {
  const init = { credentials: "same-origin", headers: { "Accept": "application/json" }, ...options };
  if (options.body !== undefined && typeof options.body !== "string") {
    init.body = JSON.stringify(options.body);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (_) {  // no answer at all: the network or the server is down
    throw Object.assign(new Error("network"), { status: 0, detail: { code: "network" } });
  }
  if (response.status === 401 && !path.startsWith("/api/auth/login")) {
    location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);  // back here after
    throw new Error("signed out");
  }
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail; } catch (_) { /* not JSON */ }
    const error = new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
    Object.assign(error, { status: response.status, detail });  // pages translate coded answers
    throw error;
  }
  return response.status === 204 ? null : response.json();
}

// The language: the choice made on this device (kept in localStorage), else the signed-in user's own
// (kept on the server, so it follows them to a new phone), else the site's default. `onLocale`: a page
// that can redraw itself in the new language (keeping what was typed) instead of reloading.
export async function boot({ requireUser = true, onLocale = null } = {}) {
  const [config, me] = await Promise.all([api("/api/config"), requireUser ? api("/api/auth/me") : null]);
  state.config = config;
  state.user = me;
  state.locale = chosenLocale() || me?.locale || config.default_locale;
  await loadStrings(state.locale);
  renderLocaleSwitch(onLocale);
  document.documentElement.lang = state.locale;
  applyStrings(document);
  return state;
}

const LOCALES = ["zh-CN", "en"];

export function chosenLocale() {
  const chosen = localStorage.getItem("anxin.locale");
  return LOCALES.includes(chosen) ? chosen : null;
}

async function loadStrings(locale) {
  const response = await fetch(`/static/i18n/${locale}.json`);
  state.strings = await response.json();
}

export function t(key, params = {}) {
  let text = state.strings[key] ?? key;
  for (const [name, value] of Object.entries(params)) text = text.replaceAll(`{${name}}`, value);
  return text;
}

export function isZh() { return state.locale.startsWith("zh"); }

export function kindTitle(kind) {
  const k = state.config.kinds[kind];
  return k ? (isZh() ? k.zh : k.en) : kind;
}

export function applyStrings(root) {
  root.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  root.querySelectorAll("[data-i18n-title]").forEach((el) => { el.title = t(el.dataset.i18nTitle); });
  root.querySelectorAll("[data-i18n-label]").forEach((el) => { el.setAttribute("aria-label", t(el.dataset.i18nLabel)); });
}

function renderLocaleSwitch(onLocale) {
  const button = document.getElementById("locale-switch");
  if (!button) return;
  const other = isZh() ? "en" : "zh-CN";
  button.textContent = isZh() ? "English" : "中文";
  button.lang = other;  // the button names the other language in that language
  button.setAttribute("aria-label", `${t("locale.switch_label")}: ${button.textContent}`);
  button.onclick = async () => {
    localStorage.setItem("anxin.locale", other);
    if (state.user) await api("/api/auth/me/locale", { method: "PUT", body: { locale: other } }).catch(() => {});
    if (!onLocale) { location.reload(); return; }
    state.locale = other;
    await loadStrings(other);
    document.documentElement.lang = other;
    applyStrings(document);
    renderLocaleSwitch(onLocale);
    onLocale(other);
  };
}

// Fields a refusal may name, translated before they go into the sentence.
const TRANSLATED_PARAMS = { field: "field.", role: "role.", service: "service.", state: "state." };
const FIELD_PROBLEMS = new Set([
  "missing", "string_too_short", "string_too_long", "extra_forbidden", "greater_than_equal", "less_than_equal",
  "literal_error", "json_invalid",
]);

function known(key, params) {
  const text = t(key, params);
  return text === key ? null : text;
}

// Every refusal the server sends is {code, ...parameters}; this turns one into a sentence in the page's
// language, never raw JSON or the server's words. Used by every page (desk.js re-exports it).
export function explain(exc) {
  const detail = exc?.detail;
  if (!detail || typeof detail !== "object" || Array.isArray(detail) || !detail.code) {
    return t(exc?.status >= 500 || !exc?.status ? "error.server" : "error.unknown", { code: exc?.status ?? "" });
  }
  const params = { ...detail, name: detail.claimed_by_name || t("desk.someone") };
  for (const [name, prefix] of Object.entries(TRANSLATED_PARAMS)) {
    if (typeof detail[name] === "string") params[name] = known(prefix + detail[name]) ?? t("field.value");
  }
  if (detail.code === "request_invalid") {
    return t("error." + (FIELD_PROBLEMS.has(detail.problem) ? detail.problem : "invalid"), params);
  }
  return known("error." + detail.code, params) ?? t("error.unknown", { code: detail.code });
}

export function fmtTime(iso, withDate = false) {
  if (!iso) return "—";
  const options = { timeZone: state.config.timezone, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false };
  if (withDate) Object.assign(options, { month: "2-digit", day: "2-digit" });
  return new Intl.DateTimeFormat(state.locale, options).format(new Date(iso));
}

export function fmtSpan(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const sign = seconds < 0 ? "-" : "";
  const s = Math.abs(Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = String(m).padStart(2, "0"), ss = String(r).padStart(2, "0");
  return h ? `${sign}${h}:${mm}:${ss}` : `${sign}${mm}:${ss}`;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// For a page that reads again on every live message: two reads may be in flight, and the older answering
// last would draw a state already left (a task back to "en route" after "on site"). Each read takes a
// ticket (`const fresh = reads()`) and draws only if it is still the newest (`if (!fresh()) return`).
export function newest() {
  let issued = 0;
  return () => {
    const mine = ++issued;
    return () => mine === issued;
  };
}

// The same for a read-and-draw that callers wait for (`await load()`, then scroll to what it drew): only
// the newest call draws, and a call overtaken by a newer one resolves when that one has drawn.
// `readAndDraw(fresh)` reads, then returns without drawing if `fresh()` is false.
export function newestDraws(readAndDraw) {
  const reads = newest();
  let last = null;
  return () => {
    const fresh = reads();
    const call = readAndDraw(fresh).then(() => (fresh() ? undefined : last));
    last = call;
    return call;
  };
}

export function live(onMessage, onStatus = () => {}) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  let retry = 500;
  const open = () => {
    const socket = new WebSocket(`${scheme}://${location.host}/ws`);
    socket.onopen = () => { retry = 500; onStatus(true); };
    socket.onmessage = (event) => onMessage(JSON.parse(event.data));
    socket.onclose = () => { onStatus(false); setTimeout(open, retry); retry = Math.min(retry * 2, 15000); };
  };
  open();
}

export async function signOut() {
  await api("/api/auth/logout", { method: "POST" });
  location.href = "/login";
}

export function wireHeader() {
  const who = document.getElementById("who");
  if (who && state.user) who.textContent = `${state.user.display_name} · ${t("role." + state.user.role)}`;
  const out = document.getElementById("sign-out");
  if (out) out.onclick = signOut;
}

export function toast(message, isError = false) {
  const box = document.getElementById("toast") || document.body.appendChild(el("div", { id: "toast", role: "status", "aria-live": "polite" }));
  box.textContent = message;
  box.className = isError ? "show error" : "show";
  setTimeout(() => { box.className = ""; }, 4000);
}

export function config() { return state.config; }
export function user() { return state.user; }
export function locale() { return state.locale; }
