// The family page (phone-sized): how my relative is today, recent alerts and their timeline, replies, preferences.
import { api, boot, el, fmtTime, kindTitle, live, t, toast, wireHeader } from "./common.js";
import { renderTimeline } from "./timeline.js";

await boot();
wireHeader();

const ANSWERS = ["going", "cant", "call_me"];

async function relative(r) {
  const [detail, alerts] = await Promise.all([api(`/api/residents/${r.id}`), api(`/api/alerts?resident_id=${r.id}&limit=10`)]);
  const today = detail.today;
  return el("section", { class: "card", "data-testid": "relative", dataset: { residentId: r.id } },
    el("h2", {}, r.name),
    el("p", { "data-testid": "today" },
      dayStatus(today),
      el("br"), t("family.steps"), ": ", today.steps ?? "—", " · ", t("chart.hr"), ": ", today.heart_rate_avg ? today.heart_rate_avg.toFixed(0) : "—",
      el("br"), t("family.last_activity"), ": ", fmtTime(today.last_activity_at, true)),
    el("p", {}, detail.devices.map((d) => el("span", { class: d.offline ? "tag error" : "tag" },
      `${t("device." + d.kind)} ${d.offline ? t("device.offline") : t("device.online")}${d.battery !== null ? " 🔋" + d.battery + "%" : ""}`))),
    el("h3", {}, t("family.recent_alerts")),
    alerts.length ? el("ol", { class: "alerts" }, alerts.map(alertItem)) : el("p", { class: "muted" }, t("family.no_alerts")));
}

// Open alerts first; a day whose alerts were all handled is told as such, not as "all is well".
function dayStatus(today) {
  if (today.open_alerts) return el("strong", { class: "error" }, t("family.needs_attention"));
  if (today.alerts_today) return el("strong", { class: "warn" }, t("family.handled_today", { n: today.alerts_today }));
  return el("strong", { class: "ok" }, t("family.all_well"));
}

const expanded = new Set();  // alerts whose timeline is open survive the re-render a live message causes

async function showTimeline(a, list) {
  const detail = await api(`/api/alerts/${a.id}`);
  renderTimeline(list, detail.timeline);
  list.hidden = false;
}

function alertItem(a) {
  const open = !["resolved", "cancelled"].includes(a.state);
  const timeline = el("ol", { class: "timeline", hidden: true });
  if (expanded.has(a.id)) showTimeline(a, timeline);
  return el("li", { "data-testid": "family-alert", dataset: { alertId: a.id } },
    el("button", { class: "link", onclick: async () => {
      if (expanded.has(a.id)) { expanded.delete(a.id); timeline.hidden = true; return; }
      expanded.add(a.id);
      await showTimeline(a, timeline);
    } }, `${fmtTime(a.raised_at, true)} · ${kindTitle(a.kind)} · ${t("state." + a.state)}`),
    open ? el("div", { class: "actions" }, ANSWERS.map((answer) => el("button", { "data-testid": `reply-${answer}`, onclick: async () => {
      try { await api(`/api/alerts/${a.id}/reply`, { method: "POST", body: { answer } }); toast(t("reply.thanks")); } catch (exc) { toast(exc.message, true); }
    } }, t("reply." + answer)))) : null,
    timeline);
}

async function prefs() {
  const rows = await api("/api/me/preferences");
  document.getElementById("prefs").replaceChildren(...rows.map((p) => {
    const form = el("form", { class: "prefs" },
      el("label", {}, t("prefs.quiet"), el("input", { name: "quiet_start", type: "time", value: p.quiet_start || "" }), "–",
        el("input", { name: "quiet_end", type: "time", value: p.quiet_end || "" })),
      el("label", {}, t("prefs.min_severity"), el("select", { name: "min_severity" },
        [1, 2, 3, 4].map((s) => el("option", { value: s, selected: s === p.min_severity }, t("severity." + ["", "low", "medium", "high", "critical"][s]))))),
      el("label", {}, el("input", { name: "wants_updates", type: "checkbox", checked: p.wants_updates }), t("prefs.updates")),
      el("label", {}, t("prefs.language"), el("select", { name: "language" },
        ["zh", "en"].map((l) => el("option", { value: l, selected: l === p.language }, l === "zh" ? "中文" : "English")))),
      el("button", { class: "primary", type: "submit" }, t("prefs.save")));
    form.onsubmit = async (event) => {
      event.preventDefault();
      const body = { min_severity: Number(form.min_severity.value), wants_updates: form.wants_updates.checked, language: form.language.value };
      if (form.quiet_start.value && form.quiet_end.value) Object.assign(body, { quiet_start: form.quiet_start.value, quiet_end: form.quiet_end.value });
      try { await api(`/api/me/preferences/${p.contact_id}`, { method: "PUT", body }); toast(t("prefs.saved")); } catch (exc) { toast(exc.message, true); }
    };
    return form;
  }));
}

async function load() {
  const residents = await api("/api/residents");
  document.getElementById("relatives").replaceChildren(...await Promise.all(residents.map(relative)));
}

let pending = null;
const reload = () => { clearTimeout(pending); pending = setTimeout(() => load().catch(() => {}), 300); };
live(reload, (up) => document.getElementById("live-status").classList.toggle("up", up));
await Promise.all([load(), prefs()]);
window.anxinReady = true;
