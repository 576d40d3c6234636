// The family page (phone-sized): how my relative is today (and whether the bracelet can tell), recent
// alerts told as a plain story ("李红 02:49 到达"), replies, my messages (each notice: delivered where,
// or why not), and how I am told (my channels in order, quiet hours, level, updates, language).
// The server sends codes and parameters; every sentence here is written from them in the page's language.
import { api, boot, el, explain, fmtTime, kindTitle, live, newestDraws, t, toast, wireHeader } from "./common.js";

await boot();
wireHeader();
const icons = await import("./icons.js").catch(() => null);  // the shared device badges, where they exist

const ANSWERS = ["going", "cant", "call_me"];
const KINDS = ["outbox", "email", "webhook", "apprise"];
const hhmm = (iso) => fmtTime(iso).slice(0, 5);

// --- today, and the truth about the bracelet ---------------------------------------------------------
// A device's state: the platform's own code when it sends one, else read from its fields.
function deviceState(d) {
  if (d.state) return d.state;
  if (icons?.stateOf) return icons.stateOf(d);
  if (d.offline) return "offline";
  if (d.worn === false) return "not_worn";
  return "online";
}

// What stands between "all is well" and the truth: no bracelet, one not worn, offline, or nearly flat.
function braceletTrouble(devices) {
  const bracelets = devices.filter((d) => d.kind === "bracelet");
  if (!bracelets.length) return { code: "none" };
  for (const d of bracelets) {
    const state = deviceState(d);
    if (state !== "online") return { code: state };
    if (d.low_battery) return { code: "battery_low", pct: d.battery ?? "—" };
  }
  return null;
}

function dayStatus(today, trouble) {
  const lines = [];
  if (today.open_alerts) lines.push(el("strong", { class: "error" }, t("family.needs_attention")));
  else if (today.alerts_today) lines.push(el("strong", { class: "warn" }, t("family.handled_today", { n: today.alerts_today })));
  else if (!trouble && today.seen_today) lines.push(el("strong", { class: "ok" }, t("family.all_well")));
  else if (!trouble) lines.push(el("strong", { class: "muted", "data-testid": "not-seen-today" }, t("family.not_seen_today")));
  if (trouble) {
    lines.push(el("strong", { class: "warn bracelet", "data-testid": "bracelet-trouble", dataset: { code: trouble.code } },
      t("family.bracelet." + trouble.code, { pct: trouble.pct ?? "" })));
  }
  return lines;
}

// What the device is, in the family's words: the bracelet, or a sensor by its kind and room ("卫生间 · 活动").
function deviceName(d) {
  if (d.kind !== "sensor") return t("device." + d.kind);
  const kind = t("family.sensor." + (d.sensor_kind || "other"));
  return d.room ? `${t("room." + d.room)} · ${kind}` : kind;
}

function deviceTag(d) {
  const badge = icons?.deviceBadge?.(d);
  if (badge instanceof Node) return el("span", { class: "device-line", "data-testid": "device-named" }, deviceName(d), " ", badge);
  const state = deviceState(d);
  const battery = d.battery !== null && d.battery !== undefined ? ` · ${t("family.battery", { pct: d.battery })}` : "";
  return el("span", { class: state === "online" && !d.low_battery ? "tag" : "tag error", "data-testid": "device-tag", dataset: { state } },
    `${t("device." + d.kind)} ${t("family.device." + state)}${battery}`);
}

async function relative(r) {
  const [detail, alerts] = await Promise.all([api(`/api/residents/${r.id}`), api(`/api/alerts?resident_id=${r.id}&limit=10`)]);
  const today = detail.today;
  return el("section", { class: "card", "data-testid": "relative", dataset: { residentId: r.id } },
    el("h2", {}, r.name),
    el("p", { "data-testid": "today" },
      ...dayStatus(today, braceletTrouble(detail.devices)),
      el("br"), t("family.steps"), ": ", today.steps ?? "—", " · ", t("chart.hr"), ": ", today.heart_rate_avg ? today.heart_rate_avg.toFixed(0) : "—",
      el("br"), t("family.last_activity"), ": ", fmtTime(today.last_activity_at, true)),
    el("ul", { class: "devices" }, detail.devices.map((d) => el("li", {}, deviceTag(d)))),
    el("h3", {}, t("family.recent_alerts")),
    alerts.length ? el("ol", { class: "alerts" }, alerts.map(alertItem)) : el("p", { class: "muted" }, t("family.no_alerts")));
}

// --- the case, told for a family ---------------------------------------------------------------------
function sentence(e) {
  const params = { time: hhmm(e.at), staff: e.staff || t("family.staff_member"), name: e.name || "",
    relation: e.relation ? t("relation." + e.relation) : "", eta: e.eta_min ?? "—", kind: kindTitle(e.kind || "") };
  switch (e.code) {
    case "resolved": return t(e.staff ? "story.resolved_by" : "story.resolved", { ...params, outcome: t("story.outcome." + (e.outcome || "other")) });
    case "cancelled": return t("story.cancelled." + (e.by || "desk"), params);
    case "contact_replied": return t("story.contact_replied", { ...params, answer: t("reply." + e.answer) });
    default: return t("story." + e.code, params);
  }
}

function renderStory(list, entries) {
  list.replaceChildren(...entries.map((e) => el("li", { "data-testid": "story-entry", dataset: { code: e.code } }, sentence(e))));
}

const expanded = new Set();  // alerts whose story is open survive the re-render a live message causes
const stories = new Map();  // and show what they said until the fresh story arrives

async function showStory(a, list) {
  const entries = await api(`/api/alerts/${a.id}/story`);
  stories.set(a.id, entries);
  renderStory(list, entries);
  list.hidden = false;
}

function alertItem(a) {
  const open = !["resolved", "cancelled"].includes(a.state);
  const story = el("ol", { class: "story", "data-testid": "story", hidden: !(expanded.has(a.id) && stories.has(a.id)) });
  if (expanded.has(a.id)) {
    if (stories.has(a.id)) renderStory(story, stories.get(a.id));
    showStory(a, story).catch(() => {});
  }
  return el("li", { "data-testid": "family-alert", dataset: { alertId: a.id } },
    el("button", { class: "link", "aria-expanded": expanded.has(a.id) ? "true" : "false", onclick: async (event) => {
      const button = event.currentTarget;
      if (expanded.has(a.id)) { expanded.delete(a.id); story.hidden = true; button.setAttribute("aria-expanded", "false"); return; }
      expanded.add(a.id);
      button.setAttribute("aria-expanded", "true");
      await showStory(a, story);
    } }, `${fmtTime(a.raised_at, true)} · ${kindTitle(a.kind)} · ${t("state." + a.state)}`),
    open ? el("div", { class: "actions" }, ANSWERS.map((answer) => el("button", { "data-testid": `reply-${answer}`, onclick: async () => {
      try { await api(`/api/alerts/${a.id}/reply`, { method: "POST", body: { answer } }); toast(t("reply.thanks")); } catch (exc) { toast(errorText(exc), true); }
    } }, t("reply." + answer)))) : null,
    story);
}

// --- my messages -------------------------------------------------------------------------------------
function deliveryLine(m) {
  const error = t("message.error." + (m.error || m.reason || "unknown"));
  if (m.state === "sent") {
    return m.channel === "outbox" ? t("message.sent_outbox") : t("message.sent", { channel: t("prefs.kind." + (m.channel || "apprise")) });
  }
  if (m.state === "failed") return t("message.failed", { error: t("message.error." + (m.reason === "no_channels" ? "no_channels" : m.error || m.reason || "unknown")) });
  if (m.state === "skipped") return t("message.skipped", { reason: t("message.reason." + (m.reason || "skipped")) });
  return m.reason === "retrying" ? t("message.retrying", { error }) : t("message.pending");
}

function messageItem(m) {
  return el("li", { "data-testid": "family-message", dataset: { event: m.event, state: m.state } },
    el("strong", {}, m.title || t("notice." + m.event)), " ",
    el("span", { class: "muted" }, fmtTime(m.at, true)),
    el("div", { class: m.state === "failed" ? "failed" : "muted", "data-testid": "message-state" }, deliveryLine(m)),
    m.body ? el("details", {}, el("summary", {}, t("family.message_text")), el("div", { class: "message-body" }, m.body)) : null);
}

const messages = newestDraws(async (fresh) => {
  const rows = await api("/api/me/messages");
  if (!fresh()) return;
  document.getElementById("no-messages").hidden = rows.length > 0;
  document.getElementById("messages").replaceChildren(...rows.map(messageItem));
});

// --- how I am told -----------------------------------------------------------------------------------
function errorText(exc) {
  if (!exc.detail?.code) return explain(exc);
  return explain({ status: exc.status, detail: { ...exc.detail, n: (exc.detail.index ?? 0) + 1 } });  // "way 2"
}

function channelRow(channel, p, rows) {
  const kind = el("select", { name: "kind", "data-testid": "channel-kind", "aria-label": t("prefs.channel_kind") },
    KINDS.map((k) => el("option", { value: k, selected: k === channel.kind }, t("prefs.kind." + k))));
  const target = el("input", { name: "target", value: channel.target || "", "data-testid": "channel-target",
    "aria-label": t("prefs.channel_target"), autocomplete: "off" });
  const fit = () => {  // the outbox is this page: its box is named for the contact, nothing to type
    const outbox = kind.value === "outbox";
    if (outbox && !target.value) target.value = `contact-${p.contact_id}`;
    if (!outbox && target.value === `contact-${p.contact_id}`) target.value = "";
    target.hidden = outbox;
    target.placeholder = t("prefs.placeholder." + kind.value);
    target.type = kind.value === "email" ? "email" : "text";
  };
  kind.onchange = fit;
  fit();
  const row = el("li", { class: "channel", "data-testid": "channel" }, kind, target,
    el("button", { type: "button", class: "small", "data-testid": "channel-up", onclick: () => { if (row.previousElementSibling) rows.insertBefore(row, row.previousElementSibling); } }, t("prefs.up")),
    el("button", { type: "button", class: "small", "data-testid": "channel-down", onclick: () => { if (row.nextElementSibling) rows.insertBefore(row.nextElementSibling, row); } }, t("prefs.down")),
    el("button", { type: "button", class: "small", "data-testid": "channel-remove", onclick: () => row.remove() }, t("prefs.remove")));
  return row;
}

function prefsForm(p) {
  const rows = el("ol", { class: "channels", "data-testid": "channels" });
  rows.append(...p.channels.map((c) => channelRow(c, p, rows)));
  // The server checks every channel and answers in codes; the page says which one and why, in its language.
  const form = el("form", { class: "prefs", novalidate: true, "data-testid": "prefs-form", dataset: { contactId: p.contact_id } },
    el("h3", {}, `${p.resident_name || p.resident_id} · ${p.name || ""}`),
    el("fieldset", {}, el("legend", {}, t("prefs.channels")),
      el("p", { class: "muted" }, t("prefs.channels_help")), rows,
      el("button", { type: "button", "data-testid": "channel-add", onclick: () => rows.append(channelRow({ kind: "outbox", target: "" }, p, rows)) }, t("prefs.add_channel"))),
    el("label", {}, t("prefs.quiet"), " ",
      el("input", { name: "quiet_start", type: "time", value: p.quiet_start || "", "data-testid": "quiet-start", "aria-label": t("prefs.quiet_start") }), " – ",
      el("input", { name: "quiet_end", type: "time", value: p.quiet_end || "", "data-testid": "quiet-end", "aria-label": t("prefs.quiet_end") })),
    el("p", { class: "muted" }, t("prefs.quiet_help")),
    el("label", {}, t("prefs.min_severity"), " ", el("select", { name: "min_severity" },
      [1, 2, 3, 4].map((s) => el("option", { value: s, selected: s === p.min_severity }, t("severity." + ["", "low", "medium", "high", "critical"][s]))))),
    el("label", {}, el("input", { name: "wants_updates", type: "checkbox", checked: p.wants_updates }), " ", t("prefs.updates")),
    el("label", {}, t("prefs.language"), " ", el("select", { name: "language" },
      ["zh", "en"].map((l) => el("option", { value: l, selected: l === p.language }, l === "zh" ? "中文" : "English")))),
    el("button", { class: "primary", type: "submit", "data-testid": "prefs-save" }, t("prefs.save")));
  form.onsubmit = async (event) => {
    event.preventDefault();
    const quiet = form.quiet_start.value && form.quiet_end.value;
    const body = {
      min_severity: Number(form.min_severity.value), wants_updates: form.wants_updates.checked, language: form.language.value,
      quiet_start: quiet ? form.quiet_start.value : null, quiet_end: quiet ? form.quiet_end.value : null,
      channels: [...rows.children].map((row) => ({ kind: row.querySelector("[name=kind]").value, target: row.querySelector("[name=target]").value.trim() })),
    };
    try {
      await api(`/api/me/preferences/${p.contact_id}`, { method: "PUT", body });
      toast(t("prefs.saved"));
      await prefs();
    } catch (exc) { toast(errorText(exc), true); }
  };
  return form;
}

async function prefs() {
  const rows = await api("/api/me/preferences");
  document.getElementById("no-prefs").hidden = rows.length > 0;
  document.getElementById("prefs").replaceChildren(...rows.map(prefsForm));
}

const load = newestDraws(async (fresh) => {
  const residents = await api("/api/residents");
  const drawn = await Promise.all(residents.map(relative));
  if (!fresh()) return;  // a newer read is on its way, or drew already
  document.getElementById("relatives").replaceChildren(...drawn);
  await messages();
});

let pending = null;
const reload = () => { clearTimeout(pending); pending = setTimeout(() => load().catch(() => {}), 300); };
live(reload, (up) => document.getElementById("live-status").classList.toggle("up", up));
await Promise.all([load(), prefs()]);
window.anxinReady = true;
