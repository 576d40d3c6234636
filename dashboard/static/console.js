// The operator console: live queue, case with actions, dispatch panel, timeline, resident panel, map.
import { api, boot, config, el, fmtSpan, fmtTime, isZh, kindTitle, live, t, toast, user, wireHeader } from "./common.js";
import { activityChart, vitalsChart } from "./charts.js";
import { focus, makeMap, placeMarkers } from "./map.js";
import { renderTimeline } from "./timeline.js";

await boot();
wireHeader();
if (["admin", "supervisor"].includes(user().role)) document.getElementById("figures-link").hidden = false;

const alerts = new Map();
let selected = null;
const view = makeMap(document.getElementById("map"));
const SEVERITY = { 4: "critical", 3: "high", 2: "medium", 1: "low" };
const OUTCOMES = ["false_alarm", "no_injury", "minor_injury", "hospital", "other"];

async function loadQueue() {
  const rows = await api("/api/alerts?open_only=true");
  alerts.clear();
  rows.forEach((a) => alerts.set(a.id, a));
  renderQueue();
}

function renderQueue() {
  const list = document.getElementById("queue-list");
  const items = [...alerts.values()].sort((a, b) => b.severity - a.severity || a.raised_at.localeCompare(b.raised_at));
  list.replaceChildren(...items.map(queueItem));
  document.getElementById("queue-count").textContent = items.length;
  document.getElementById("queue-empty").hidden = items.length > 0;
  placeMarkers(view, "alert", "alert", items.map((a) => ({ lat: a.lat, lon: a.lon, label: `${kindTitle(a.kind)} · ${a.resident_name}` })));
  tick();
}

function queueItem(a) {
  const ack = a.moves.includes("acknowledged")
    ? el("button", { class: "primary small", "data-testid": "ack", onclick: (e) => { e.stopPropagation(); move(a.id, "acknowledge"); } }, t("action.acknowledge"))
    : null;
  return el("li", {
    class: `queue-item sev-${SEVERITY[a.severity]} ${a.id === selected ? "selected" : ""} ${a._new ? "flash" : ""}`,
    "data-testid": "queue-item", dataset: { alertId: a.id, state: a.state }, onclick: () => select(a.id),
  },
  el("span", { class: `sev sev-${SEVERITY[a.severity]}` }, t("severity." + SEVERITY[a.severity])),
  el("strong", {}, kindTitle(a.kind)),
  el("span", { class: "resident" }, a.resident_name || a.resident_id),
  el("span", { class: "state" }, t("state." + a.state)),
  el("span", { class: "age", dataset: { since: a.raised_at } }),
  el("span", { class: "countdown", dataset: { deadline: a.promise_deadline }, title: t("queue.promise") }),
  ack);
}

function tick() {
  const now = Date.now();
  document.querySelectorAll("[data-since]").forEach((node) => {
    node.textContent = fmtSpan((now - Date.parse(node.dataset.since)) / 1000);
  });
  document.querySelectorAll("[data-deadline]").forEach((node) => {
    const left = (Date.parse(node.dataset.deadline) - now) / 1000;
    node.textContent = (left < 0 ? t("queue.overdue") : t("queue.left")) + fmtSpan(Math.abs(left));
    node.classList.toggle("late", left < 0);
  });
}
setInterval(tick, 1000);

function cue(alert) {
  alert._new = true;
  document.body.classList.add("alarm");
  setTimeout(() => { document.body.classList.remove("alarm"); alert._new = false; renderQueue(); }, 8000);
  try {
    const audio = new AudioContext();
    [0, 0.35, 0.7].forEach((start) => {
      const osc = audio.createOscillator();
      osc.frequency.value = 880;
      osc.connect(audio.destination);
      osc.start(audio.currentTime + start);
      osc.stop(audio.currentTime + start + 0.2);
    });
  } catch (_) { /* no sound before the first click in some browsers; the flash still shows */ }
}

async function onLive(message) {
  if (message.type === "alert" && message.alert_id) {
    const id = Number(message.alert_id);
    const known = alerts.has(id);
    const detail = await api(`/api/alerts/${id}`);
    const alert = detail.alert;
    if (["resolved", "cancelled"].includes(alert.state)) alerts.delete(id);
    else alerts.set(id, alert);
    if (!known && alert.severity >= 4 && alert.state === "raised") cue(alert);
    renderQueue();
    if (id === selected) renderCase(detail);
  } else if (message.type === "device_status" && selectedResident === message.resident_id) {
    loadResident(message.resident_id);
  }
}

async function move(id, action, body = {}) {
  try {
    await api(`/api/alerts/${id}/${action}`, { method: "POST", body });
    await refresh(id);
  } catch (exc) { toast(exc.message, true); }
}

async function refresh(id) {
  const detail = await api(`/api/alerts/${id}`);
  if (["resolved", "cancelled"].includes(detail.alert.state)) alerts.delete(id); else alerts.set(id, detail.alert);
  renderQueue();
  if (id === selected) renderCase(detail);
}

async function select(id) {
  selected = id;
  renderQueue();
  const detail = await api(`/api/alerts/${id}`);
  renderCase(detail);
  loadResident(detail.alert.resident_id);
  focus(view, detail.alert.lat, detail.alert.lon);
}

function renderCase(detail) {
  const a = detail.alert;
  document.getElementById("case-empty").hidden = true;
  document.getElementById("case-body").hidden = false;
  document.getElementById("case-head").replaceChildren(
    el("h2", { "data-testid": "case-title" }, `${kindTitle(a.kind)} · ${a.resident_name || a.resident_id}`),
    el("p", {}, isZh() ? a.explanation_zh : a.explanation),
    el("p", {},
      el("span", { class: `sev sev-${SEVERITY[a.severity]}` }, t("severity." + SEVERITY[a.severity])), " ",
      el("span", { class: "state", "data-testid": "case-state", dataset: { state: a.state } }, t("state." + a.state)), " ",
      t("case.raised"), " ", fmtTime(a.raised_at, true), " · ", t("case.promise", { min: a.promise_minutes }), " ",
      ["resolved", "cancelled"].includes(a.state) ? null : el("span", { class: "countdown", dataset: { deadline: a.promise_deadline } })),
    el("p", { class: "muted" }, a.address || ""),
  );
  renderActions(a);
  renderTimeline(document.getElementById("timeline"), detail.timeline);
  renderDispatch(a);
  tick();
}

function renderActions(a) {
  const box = document.getElementById("case-actions");
  const buttons = [];
  if (a.moves.includes("acknowledged")) {
    buttons.push(el("button", { class: "primary", "data-testid": "case-ack", onclick: () => move(a.id, "acknowledge") }, t("action.acknowledge")));
  }
  if (a.moves.includes("cancelled")) {
    buttons.push(el("button", { "data-testid": "case-cancel", onclick: () => {
      const note = prompt(t("action.cancel_reason"));
      if (note) move(a.id, "cancel", { note });
    } }, t("action.cancel")));
  }
  if (a.moves.includes("resolved")) {
    const select = el("select", { "data-testid": "outcome" }, OUTCOMES.map((o) => el("option", { value: o }, t("outcome." + o))));
    buttons.push(select, el("button", { class: "primary", "data-testid": "case-resolve",
      onclick: () => move(a.id, "resolve", { outcome: select.value }) }, t("action.resolve")));
  }
  box.replaceChildren(...buttons);
}

async function renderDispatch(a) {
  const panel = document.getElementById("dispatch-panel");
  const tasksPanel = document.getElementById("tasks-panel");
  const tasks = await api(`/api/alerts/${a.id}/tasks`);
  tasksPanel.replaceChildren(...tasks.map((task) => taskRow(a, task)));
  if (a.state !== "acknowledged") { panel.replaceChildren(); return; }
  const ranking = await api(`/api/alerts/${a.id}/candidates`);
  panel.replaceChildren(
    el("p", { class: ranking.verdict === "in_time" ? "ok" : "error" }, isZh() ? ranking.summary_zh : ranking.summary_en),
    el("table", { class: "candidates" },
      el("tr", {}, ["#", t("dispatch.staff"), t("dispatch.eta"), t("dispatch.vs_promise"), t("dispatch.why"), ""].map((h) => el("th", {}, h))),
      ranking.candidates.map((c) => el("tr", { "data-testid": "candidate", dataset: { staffId: c.staff_id }, class: c.in_time ? "" : "late" },
        el("td", {}, c.rank), el("td", {}, c.name),
        el("td", {}, t("dispatch.minutes", { min: c.eta_min.toFixed(0) })),
        el("td", {}, c.in_time ? t("dispatch.in_time", { min: c.margin_min.toFixed(0) }) : t("dispatch.late", { min: (-c.margin_min).toFixed(0) })),
        el("td", { class: "why" }, isZh() ? c.reason_zh : c.reason_en),
        el("td", {}, el("button", { class: c.rank === 1 ? "primary" : "", "data-testid": c.rank === 1 ? "dispatch-suggested" : "dispatch-other",
          onclick: () => dispatchTo(a.id, c.staff_id) }, c.rank === 1 ? t("dispatch.send_suggested") : t("dispatch.send")))))),
  );
  placeMarkers(view, "staff", "staff", ranking.candidates.map((c) => ({ lat: c.lat, lon: c.lon, label: `${c.rank}. ${c.name}` })));
}

function taskRow(a, task) {
  const steps = { offered: ["accept", "on_site"], accepted: ["en_route", "on_site"], en_route: ["on_site"] }[task.state] || [];
  return el("div", { class: "task", "data-testid": "task", dataset: { state: task.state, assignmentId: task.assignment_id } },
    el("strong", {}, task.staff_name || task.staff_id), " · ", t("task." + task.state), " · ",
    t("dispatch.minutes", { min: task.eta_min.toFixed(0) }),
    ...steps.map((step) => el("button", { class: "small", "data-testid": `task-${step}`, onclick: async () => {
      try { await api(`/api/tasks/${task.assignment_id}/${step}`, { method: "POST" }); await refresh(a.id); } catch (exc) { toast(exc.message, true); }
    } }, t("task.do_" + step))));
}

async function dispatchTo(alertId, staffId) {
  try {
    const offer = await api(`/api/alerts/${alertId}/dispatch`, { method: "POST", body: { staff_id: staffId } });
    if (offer.must_escalate) toast(t("dispatch.nobody"), true);
    await refresh(alertId);
  } catch (exc) { toast(exc.message, true); }
}

let selectedResident = null;

async function loadResident(residentId) {
  selectedResident = residentId;
  const [detail, vitals, activity] = await Promise.all([
    api(`/api/residents/${residentId}`), api(`/api/residents/${residentId}/vitals?hours=24`),
    api(`/api/residents/${residentId}/activity?hours=24`)]);
  const r = detail.resident;
  document.getElementById("resident-panel").replaceChildren(
    el("h3", { "data-testid": "resident-name" }, r.name, " ", el("span", { class: "badge" }, t("risk") + " " + r.risk_class)),
    el("p", {}, r.categories.map((c) => el("span", { class: "tag" }, t("category." + c)))),
    el("p", {}, t("resident.assessment"), ": ", r.assessment_level ?? "—", " · ", r.address || ""),
    el("p", {}, t("resident.medical"), ": ", r.medical_notes || "—"),
    el("p", {}, t("resident.key_holder"), ": ", r.key_holder || "—"),
    el("h4", {}, t("resident.contacts")),
    el("ul", {}, detail.contacts.map((c) => el("li", {}, `${c.position}. ${c.name} (${t("relation." + c.relation)}) `,
      c.phone ? el("a", { href: `tel:${c.phone}` }, c.phone) : ""))),
    el("h4", {}, t("resident.devices")),
    el("ul", {}, detail.devices.map((d) => el("li", { "data-testid": "device", class: d.offline ? "error" : "" },
      `${d.id} · ${t("device." + d.kind)} · ${d.offline ? t("device.offline") : t("device.online")}`,
      d.battery !== null ? ` · 🔋${d.battery}%` : "", d.low_battery ? ` ${t("device.low_battery")}` : ""))),
  );
  vitalsChart(document.getElementById("vitals-chart"), vitals);
  activityChart(document.getElementById("activity-chart"), activity);
}

async function loadMap() {
  const [residents, stations, staff] = await Promise.all([api("/api/residents"), api("/api/stations"), api("/api/staff")]);
  placeMarkers(view, "residents", "resident", residents.map((r) => ({ lat: r.lat, lon: r.lon, label: r.name })));
  placeMarkers(view, "stations", "station", stations.map((s) => ({ lat: s.lat, lon: s.lon, label: s.name })));
  placeMarkers(view, "staff", "staff", staff.map((s) => ({ lat: s.last_lat, lon: s.last_lon, label: `${s.name} · ${t("staff_status." + s.status)}` })));
}

live(onLive, (up) => document.getElementById("live-status").classList.toggle("up", up));
await loadQueue();
loadMap().catch((exc) => toast(exc.message, true));
window.anxinReady = true;
