// The operator console: live queue, case with actions, dispatch panel, timeline, resident panel, map.
//
// Everything on screen follows the WebSocket: an alert change re-reads that alert (the queue item needs
// its resident, place and moves); a dispatch change and a staff position are drawn from the pushed
// message itself. A provisional alert (a critical finding the database could not store yet) shows at
// once, marked and without buttons, and gives way to the stored alert of the same resident and kind.
// The desk's claim shows who holds each case; the re-alarm (alarm.js) rings while an alert that climbed
// its escalation ladder is unacknowledged; refusals are translated (desk.js), never shown as JSON.
import { api, boot, el, fmtSpan, fmtTime, isZh, kindTitle, live, newest, t, toast, user, wireHeader } from "./common.js";
import { activityChart, vitalsChart } from "./charts.js";
import { focus, makeMap, placeMarkers } from "./map.js";
import { eventAge } from "./age.js";
import { deviceBadge } from "./icons.js";
import { renderTimeline } from "./timeline.js";
import { makeAlarm } from "./alarm.js";
import { explain, renderHandover, renderShortcuts, wireShortcuts } from "./desk.js";
import { askToClose } from "./closing.js";

await boot();
wireHeader();
const SUPERVISING = ["admin", "supervisor"].includes(user().role);
if (SUPERVISING) document.getElementById("figures-link").hidden = false;

const alerts = new Map();  // id → the alert as the API describes it
const provisional = new Map();  // "resident|kind" → a ProvisionalAlert not stored yet
const dispatchEvents = new Map();  // alert id → the dispatch changes seen, oldest first
const residentNames = new Map();
const staffSpots = new Map();  // staff id → { lat, lon, label }
let staffMarkers = new Map();  // staff id → its marker on the map
let selected = null;
let selectedCase = null;  // { detail, tasks, suggested } of the selected alert
let selectedResident = null;
const view = makeMap(document.getElementById("map"));
const alarm = makeAlarm(document.getElementById("realarm"), (id) => select(id));
const SEVERITY = { 4: "critical", 3: "high", 2: "medium", 1: "low" };
const CLOSED = ["resolved", "cancelled"];
// The live task states a desk reload finds, as the dispatch event (and its time) that led there.
const TASK_EVENTS = { offered: "assigned_at", accepted: "accepted_at", en_route: "en_route_at", on_site: "on_site_at" };
const ENDED = new Set(["declined", "unreachable", "timed_out", "withdrawn"]);  // an offer that went nowhere
const WAITING = new Set(["offered"]);  // lines that count the time since

const mine = (a) => Boolean(a.claimed_by) && a.claimed_by.endsWith(`:u${user().id}`);
const heldByOther = (a) => Boolean(a.claimed_by) && !mine(a);
const keyOf = (residentId, kind) => `${residentId}|${kind}`;
// A dispatched alert may also move back to "acknowledged" (a recall, with a note): that is no acknowledge button.
const canAcknowledge = (a) => a.state === "raised" && a.moves.includes("acknowledged") && !heldByOther(a);

async function loadQueue() {
  const [rows, tasks] = await Promise.all([api("/api/alerts?open_only=true"), api("/api/tasks")]);
  alerts.clear();
  rows.forEach((a) => alerts.set(a.id, a));
  dispatchEvents.clear();
  for (const task of [...tasks].reverse()) {
    const at = task[TASK_EVENTS[task.state]];
    if (at) remember({ alert_id: task.alert_id, event: task.state, at, staff_id: task.staff_id,
      staff_name: task.staff_name, assignment_id: task.assignment_id, eta_min: task.eta_min });
  }
  renderQueue();
}

// Unacknowledged first (nobody has looked at them yet), then the most severe, then the oldest.
const unacknowledged = (a) => (a.state === "raised" ? 1 : 0);
function queueOrder() {
  return [...alerts.values()].sort((a, b) => unacknowledged(b) - unacknowledged(a) || b.severity - a.severity
    || a.raised_at.localeCompare(b.raised_at));
}

function renderQueue() {
  const list = document.getElementById("queue-list");
  const items = queueOrder();
  const pending = [...provisional.values()];
  list.replaceChildren(...pending.map(provisionalItem), ...items.map(queueItem));
  document.getElementById("queue-count").textContent = items.length + pending.length;
  document.getElementById("queue-empty").hidden = items.length + pending.length > 0;
  placeMarkers(view, "alert", "alert", items.map((a) => ({ lat: a.lat, lon: a.lon, label: `${kindTitle(a.kind)} · ${a.resident_name}` })));
  alarm.update(items);
  if (!document.getElementById("handover").hidden) showHandover();
  tick();
}

function remember(change) {
  const id = Number(change.alert_id);
  const seen = dispatchEvents.get(id) || [];
  seen.push(change);
  dispatchEvents.set(id, seen.slice(-10));
}

function lineOf(change) {
  const params = { name: change.staff_name || change.staff_id || "", reason: change.reason || "—" };
  return el("span", { class: `line-${change.event}` }, t("live." + change.event, params),
    WAITING.has(change.event) ? [" ", el("span", { class: "age", dataset: { since: change.at } })] : null);
}

function dispatchLine(alertId) {
  const seen = dispatchEvents.get(alertId);
  if (!seen?.length) return null;
  const last = seen.at(-1);
  const before = seen.length > 1 && ENDED.has(seen.at(-2).event) && !ENDED.has(last.event) ? seen.at(-2) : null;
  return el("span", { class: "dispatch-line", "data-testid": "dispatch-line", dataset: { event: last.event } },
    lineOf(last), before ? [" · ", lineOf(before)] : null);
}

function queueItem(a) {
  const ack = canAcknowledge(a)
    ? el("button", { class: "primary small", "data-testid": "ack", onclick: (e) => { e.stopPropagation(); move(a.id, "acknowledge"); } }, t("action.acknowledge"))
    : null;
  const late = a.promise_breached_at && !a.on_site_at;
  return el("li", {
    class: `queue-item sev-${SEVERITY[a.severity]} ${a.id === selected ? "selected" : ""} ${a._new ? "flash" : ""}`,
    "data-testid": "queue-item", dataset: { alertId: a.id, state: a.state, residentId: a.resident_id }, onclick: () => select(a.id),
  },
  el("span", { class: `sev sev-${SEVERITY[a.severity]}` }, t("severity." + SEVERITY[a.severity])),
  el("strong", {}, kindTitle(a.kind)),
  el("span", { class: "resident" }, a.resident_name || a.resident_id),
  el("span", { class: "state" }, t("state." + a.state)),
  el("span", { class: "age", dataset: { since: a.raised_at } }),
  eventAge(a),
  el("span", { class: "countdown", dataset: { deadline: a.promise_deadline }, title: t("queue.promise") }),
  el("span", { class: "flags" },
    late ? el("span", { class: "tag error", "data-testid": "promise-missed" }, t("queue.promise_missed")) : null,
    a.escalation_step > 0 && a.state === "raised" ? el("span", { class: "tag error" }, t("realarm.step", { n: a.escalation_step })) : null,
    a.claimed_by ? el("span", { class: `tag claim ${mine(a) ? "mine" : ""}`, "data-testid": "claim-tag" },
      mine(a) ? t("claim.mine") : t("claim.by", { name: a.claimed_by_name || a.claimed_by })) : null,
    dispatchLine(a.id)),
  ack);
}

function provisionalItem(p) {
  return el("li", {
    class: `queue-item provisional sev-${p.severity} ${p._new ? "flash" : ""}`, "data-testid": "queue-item",
    dataset: { provisional: "", residentId: p.resident_id, kind: p.kind }, onclick: () => loadResident(p.resident_id),
  },
  el("span", { class: `sev sev-${p.severity}` }, t("severity." + p.severity)),
  el("strong", {}, kindTitle(p.kind)),
  el("span", { class: "resident" }, residentNames.get(p.resident_id) || p.resident_id),
  el("span", { class: "tag warn", "data-testid": "provisional-tag", title: t("queue.provisional_hint") }, t("queue.provisional")),
  el("span", { class: "age", dataset: { since: p.at } }),
  el("span", { class: "muted" }, isZh() ? p.explanation_zh : p.explanation));
}

function tick() {
  const now = Date.now();
  document.querySelectorAll("[data-since]").forEach((node) => {
    node.textContent = fmtSpan(Math.max(0, (now - Date.parse(node.dataset.since)) / 1000));  // a clock a little ahead: "just now"
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

// What each kind of live message does to the page.
const ON_LIVE = {
  alert: (m) => (m.alert_id ? onAlert(Number(m.alert_id), m.data) : onProvisional(m.data)),
  dispatch: (m) => onDispatch(m.data),
  staff_position: (m) => onPosition(m.data),
  device_status: (m) => { if (selectedResident === m.resident_id) loadResident(m.resident_id); },
};

// One alert read several times at once (a live change, the operator's own move, a selection): only the
// newest read's answer is drawn, so a case never goes back to a state it has left.
const alertTickets = new Map();
async function readAlert(id) {
  if (!alertTickets.has(id)) alertTickets.set(id, newest());
  const ticket = alertTickets.get(id)();
  const detail = await api(`/api/alerts/${id}`);
  return { detail, fresh: ticket() };  // not fresh: a newer read of this alert is on its way, or drew already
}

async function onAlert(id, change) {
  const known = alerts.has(id);
  const { detail, fresh } = await readAlert(id);
  const alert = detail.alert;
  if (change.action === "escalated" && alert.state === "raised") toast(t("realarm.toast", { kind: kindTitle(alert.kind), name: alert.resident_name || alert.resident_id }), true);
  if (!fresh) return;  // the re-alarm is said whichever read draws
  if (CLOSED.includes(alert.state)) alerts.delete(id);
  else alerts.set(id, alert);
  const merged = provisional.delete(keyOf(alert.resident_id, alert.kind));
  if ((!known || merged) && alert.severity >= 4 && alert.state === "raised") cue(alert);
  renderQueue();
  if (id === selected) renderCase(detail);
}

function onProvisional(p) {
  const stored = [...alerts.values()].some((a) => a.resident_id === p.resident_id && a.kind === p.kind);
  if (p.action !== "provisional" || stored) return;
  const entry = { ...p };
  provisional.set(keyOf(p.resident_id, p.kind), entry);
  if (p.severity === "critical") cue(entry);
  renderQueue();
}

function onDispatch(change) {
  remember(change);
  renderQueue();
  if (change.event === "nobody_left") toast(t("live.nobody_left"), true);
  if (Number(change.alert_id) !== selected || !selectedCase) return;
  const { detail, tasks } = selectedCase;
  const task = tasks.find((x) => x.assignment_id === change.assignment_id);
  if (task) Object.assign(task, { state: change.event, reason: change.reason });
  else if (change.assignment_id) tasks.unshift({ assignment_id: change.assignment_id, staff_id: change.staff_id,
    staff_name: change.staff_name, state: change.event, eta_min: change.eta_min ?? 0, reason: change.reason });
  renderTasks(detail.alert, tasks);
  detail.timeline.push({ source: "dispatch", at: change.at, what: change.event, actor: change.staff_id ? `staff:${change.staff_id}` : "system",
    note: change.staff_name, detail: { reason: change.reason, eta_min: change.eta_min, assignment_id: change.assignment_id } });
  renderTimeline(document.getElementById("timeline"), detail.timeline);
}

function onPosition(position) {
  const spot = staffSpots.get(position.staff_id) || { label: position.staff_id };
  Object.assign(spot, { lat: position.lat, lon: position.lon });
  staffSpots.set(position.staff_id, spot);
  const marker = staffMarkers.get(position.staff_id);
  if (marker) marker.setLatLng(view.project(position.lat, position.lon));
  else drawStaff();
}

function drawStaff() {
  const ids = [...staffSpots.keys()];
  const markers = placeMarkers(view, "staff", "staff", ids.map((id) => staffSpots.get(id)));
  const known = (v) => v !== null && v !== undefined;
  const placed = ids.filter((id) => known(staffSpots.get(id).lat) && known(staffSpots.get(id).lon));  // as placeMarkers skips
  staffMarkers = new Map(placed.map((id, i) => [id, markers[i]]));
}
window.anxinStaffAt = (id) => { const p = staffMarkers.get(id)?.getLatLng(); return p ? [p.lat, p.lng] : null; };

async function move(id, action, body = {}) {
  try {
    await api(`/api/alerts/${id}/${action}`, { method: "POST", body });
    await refresh(id);
  } catch (exc) { toast(explain(exc), true); }
}

async function refresh(id) {
  const { detail, fresh } = await readAlert(id);
  if (!fresh) return;
  if (CLOSED.includes(detail.alert.state)) alerts.delete(id); else alerts.set(id, detail.alert);
  renderQueue();
  if (id === selected) renderCase(detail);
}

async function select(id) {
  selected = id;
  renderQueue();
  const { detail, fresh } = await readAlert(id);
  if (!fresh || id !== selected) return;  // read again since, or another alert chosen meanwhile
  renderCase(detail);
  loadResident(detail.alert.resident_id);
  focus(view, detail.alert.lat, detail.alert.lon);
}

function claimBox(a) {
  const buttons = [];
  if (!CLOSED.includes(a.state)) {
    if (!a.claimed_by) buttons.push(el("button", { class: "small", "data-testid": "claim", onclick: () => move(a.id, "claim") }, t("claim.take")));
    if (mine(a)) buttons.push(el("button", { class: "small", "data-testid": "release", onclick: () => move(a.id, "release") }, t("claim.release")));
    if (heldByOther(a) && SUPERVISING) buttons.push(el("button", { class: "small", "data-testid": "take-over", onclick: () => move(a.id, "claim", { take_over: true }) }, t("claim.take_over")));
  }
  const who = !a.claimed_by ? t("claim.nobody") : mine(a) ? t("claim.mine") : t("claim.by", { name: a.claimed_by_name || a.claimed_by });
  return el("p", { class: `claim-box ${heldByOther(a) ? "other" : ""}` },
    el("span", { "data-testid": "claim-status", dataset: { claimedBy: a.claimed_by || "" } }, who),
    a.claimed_at ? el("span", { class: "muted" }, ` · ${fmtTime(a.claimed_at)}`) : null, " ", buttons);
}

function renderCase(detail) {
  const a = detail.alert;
  document.getElementById("case-empty").hidden = true;
  document.getElementById("case-body").hidden = false;
  document.getElementById("case-head").replaceChildren(...[
    el("h2", { "data-testid": "case-title" }, `${kindTitle(a.kind)} · ${a.resident_name || a.resident_id}`),
    el("p", { "data-testid": "case-explanation" }, isZh() ? a.explanation_zh : a.explanation),
    eventAge(a),
    el("p", {},
      el("span", { class: `sev sev-${SEVERITY[a.severity]}` }, t("severity." + SEVERITY[a.severity])), " ",
      el("span", { class: "state", "data-testid": "case-state", dataset: { state: a.state } }, t("state." + a.state)), " ",
      el("span", { "data-testid": "case-raised-at" }, t("case.raised_at", { time: fmtTime(a.raised_at, true) })), " · ",
      t("case.promise", { min: a.promise_minutes }), " ",
      CLOSED.includes(a.state) ? null : el("span", { class: "countdown", dataset: { deadline: a.promise_deadline } }),
      a.promise_breached_at && !a.on_site_at ? [" ", el("span", { class: "tag error" }, t("queue.promise_missed"))] : null),
    el("p", { class: "muted" }, a.address || "", " ",
      a.resident_phone ? el("a", { class: "button small call", href: `tel:${a.resident_phone}`, "data-testid": "call-resident" }, `${t("resident.call")} ${a.resident_phone}`) : null),
    claimBox(a),
    braceletBox(a),
  ].filter(Boolean));
  renderActions(a);
  renderTimeline(document.getElementById("timeline"), detail.timeline);
  selectedCase = { detail, tasks: [], suggested: null };
  renderDispatch(a, selectedCase);
  tick();
}

// The resident's bracelet, asked from the case: its position now, or a call to the desk's number (the
// operator talks to the resident through it). The number is kept in this browser for the next case.
const DESK_NUMBER = "anxin.deskNumber";
let typedNumber = null;  // what is being typed: a live change that redraws the case keeps it, and the focus

function braceletBox(a) {
  if (CLOSED.includes(a.state) || heldByOther(a)) return null;
  const typing = document.activeElement?.dataset?.testid === "bracelet-number";
  const number = el("input", {
    type: "tel", name: "desk-number", inputmode: "tel", size: 14, "data-testid": "bracelet-number",
    "aria-label": t("bracelet.number"), placeholder: t("bracelet.number"),
    value: typedNumber ?? (localStorage.getItem(DESK_NUMBER) || ""), oninput: (event) => { typedNumber = event.target.value; },
  });
  if (typing) queueMicrotask(() => number.focus());  // once the case is drawn with it
  const ask = async (body, done) => {
    try {
      await api(`/api/alerts/${a.id}/bracelet`, { method: "POST", body });
      toast(done);
      await refresh(a.id);
    } catch (exc) { toast(explain(exc), true); }
  };
  const call = () => {
    const value = number.value.replace(/[\s-]/g, "");
    if (value) localStorage.setItem(DESK_NUMBER, value);
    typedNumber = null;
    ask({ action: "call_back", number: value || null }, t("bracelet.asked_call", { number: value }));
  };
  return el("p", { class: "bracelet-box", "data-testid": "bracelet-box" },
    el("button", { class: "small", type: "button", "data-testid": "bracelet-locate",
      onclick: () => ask({ action: "locate" }, t("bracelet.asked_locate")) }, t("bracelet.locate")), " ",
    number, " ",
    el("button", { class: "small", type: "button", "data-testid": "bracelet-call", onclick: call }, t("bracelet.call_back")));
}

function renderActions(a) {
  const box = document.getElementById("case-actions");
  const buttons = [];
  if (canAcknowledge(a)) {
    buttons.push(el("button", { class: "primary", "data-testid": "case-ack", onclick: () => move(a.id, "acknowledge") }, t("action.acknowledge")));
  }
  // Closing asks first (closing.js): an outcome chosen with no default, or a reason, then a confirmation.
  const closing = (kind, action) => async () => {
    const body = await askToClose(kind, `${kindTitle(a.kind)} · ${a.resident_name || a.resident_id}`, { fall: a.kind === "fall" });
    if (body) move(a.id, action, body);
  };
  if (a.moves.includes("resolved")) {
    buttons.push(el("button", { class: "primary", "data-testid": "case-resolve", "aria-haspopup": "dialog",
      onclick: closing("resolve", "resolve") }, t("action.resolve")));
  }
  if (a.moves.includes("cancelled")) {
    buttons.push(el("button", { "data-testid": "case-cancel", "aria-haspopup": "dialog",
      onclick: closing("cancel", "cancel") }, t("action.cancel")));
  }
  box.replaceChildren(...buttons);
}

// The ranking speaks in codes with parameters; every number in the panel is the ranking's one estimate
// (whole minutes, rounded up once on the server): the row, its reason and the summary above say the same.
const minutes = (min) => t("dispatch.minutes", { min });
const versusPromise = (margin) => (margin >= 0 ? t("dispatch.in_time", { min: margin }) : t("dispatch.late", { min: -margin }));

function reasonText(r) {
  const lead = t("dispatch.lead." + r.code, { name: r.fastest, min: r.behind_min });
  return `${lead} · ${t("dispatch.from." + r.origin, { km: r.road_km.toFixed(1) })}`;
}

function summaryText(s) {
  const late = s.margin_min === null ? null : -s.margin_min;
  return t("dispatch.summary." + s.code, { name: s.name, eta: s.eta_min, promise: s.promise_min, spare: s.margin_min, late });
}

function candidateRow(a, c) {
  const suggested = c.rank === 1;
  return el("tr", { "data-testid": "candidate", dataset: { staffId: c.staff_id, eta: c.eta_min, margin: c.margin_min }, class: c.in_time ? "" : "late" },
    el("td", {}, c.rank), el("td", { class: "name", "data-testid": "candidate-name" }, c.name),
    el("td", { "data-testid": "candidate-eta" }, minutes(c.eta_min)),
    el("td", { "data-testid": "candidate-margin" }, versusPromise(c.margin_min)),
    el("td", { class: "why", "data-testid": "candidate-why", dataset: { code: c.reason.code } }, reasonText(c.reason)),
    el("td", {}, el("button", { class: suggested ? "primary" : "", "data-testid": suggested ? "dispatch-suggested" : "dispatch-other",
      onclick: () => dispatchTo(a.id, c.staff_id) }, suggested ? t("dispatch.send_suggested") : t("dispatch.send"))));
}

function passedOver(ranking) {
  if (!ranking.passed_over.length) return null;
  const who = ranking.passed_over.map((p) => t("dispatch.left_out_item", { name: p.name, why: t("dispatch.left_out." + p.code) }));
  return el("p", { class: "muted passed-over", "data-testid": "passed-over" }, t("dispatch.passed_over"), " ", who.join(t("list.separator")));
}

async function renderDispatch(a, current) {
  const panel = document.getElementById("dispatch-panel");
  current.tasks = await api(`/api/alerts/${a.id}/tasks`);
  renderTasks(a, current.tasks);
  if (a.state !== "acknowledged") { panel.replaceChildren(); return; }
  const ranking = await api(`/api/alerts/${a.id}/candidates`);
  current.suggested = ranking.candidates[0]?.staff_id || null;
  const head = ["#", t("dispatch.staff"), t("dispatch.eta"), t("dispatch.vs_promise"), t("dispatch.why"), ""];
  panel.replaceChildren(...[
    heldByOther(a) ? el("p", { class: "error", "data-testid": "claimed-warning" }, t("claim.held_warning", { name: a.claimed_by_name || a.claimed_by })) : null,
    el("p", { class: ranking.verdict === "in_time" ? "ok" : "error", "data-testid": "dispatch-summary", dataset: { verdict: ranking.verdict } },
      summaryText(ranking.summary)),
    ranking.candidates.length ? el("div", { class: "scroll" }, el("table", { class: "candidates" },
      el("tr", {}, head.map((h) => el("th", {}, h))), ranking.candidates.map((c) => candidateRow(a, c)))) : null,
    passedOver(ranking),
  ].filter(Boolean));
  for (const c of ranking.candidates) staffSpots.set(c.staff_id, { lat: c.lat, lon: c.lon, label: `${c.rank}. ${c.name}` });
  drawStaff();
}

function renderTasks(a, tasks) {
  document.getElementById("tasks-panel").replaceChildren(...tasks.map((task) => taskRow(a, task)));
}

function taskRow(a, task) {
  const steps = { offered: ["accept", "on_site"], accepted: ["en_route", "on_site"], en_route: ["on_site"] }[task.state] || [];
  const dataset = { state: task.state, assignmentId: task.assignment_id, staffId: task.staff_id };
  return el("div", { class: `task task-${task.state}`, "data-testid": "task", dataset },
    el("strong", {}, task.staff_name || task.staff_id), " · ", el("span", { "data-testid": "task-state" }, t("task." + task.state)), " · ",
    minutes(Math.ceil(Number(task.eta_min || 0))),  // whole minutes already (the ranking rounds once); older rows up
    task.reason && task.state === "declined" ? el("span", { class: "muted" }, ` · ${t("live.reason", { reason: task.reason })}`) : null,
    ...steps.map((step) => el("button", { class: "small", "data-testid": `task-${step}`, onclick: async () => {
      try { await api(`/api/tasks/${task.assignment_id}/${step}`, { method: "POST" }); await refresh(a.id); } catch (exc) { toast(explain(exc), true); }
    } }, t("task.do_" + step))));
}

async function dispatchTo(alertId, staffId) {
  try {
    const offer = await api(`/api/alerts/${alertId}/dispatch`, { method: "POST", body: { staff_id: staffId } });
    if (offer.must_escalate) toast(t("dispatch.nobody"), true);
    await refresh(alertId);
  } catch (exc) { toast(explain(exc), true); }
}

async function addNote(event) {
  event.preventDefault();
  const box = document.getElementById("note-text");
  const text = box.value.trim();
  if (!text || selected === null) return;
  try {
    await api(`/api/alerts/${selected}/notes`, { method: "POST", body: { text } });
    box.value = "";
    await refresh(selected);
  } catch (exc) { toast(explain(exc), true); }
}
document.getElementById("note-form").addEventListener("submit", addNote);

// The resident panel draws the newest read only: an operator who moves from one case to the next must
// never see the first resident's notes and contacts' numbers beside the second one's case.
const residentReads = newest();
async function loadResident(residentId) {
  selectedResident = residentId;
  const fresh = residentReads();
  const [detail, vitals, activity] = await Promise.all([
    api(`/api/residents/${residentId}`), api(`/api/residents/${residentId}/vitals?hours=24`),
    api(`/api/residents/${residentId}/activity?hours=24`)]);
  if (!fresh()) return;
  const r = detail.resident;
  const phone = alerts.get(selected)?.resident_id === residentId ? alerts.get(selected).resident_phone : null;
  document.getElementById("resident-panel").replaceChildren(...[  // replaceChildren would print a null as "null"
    el("h3", { "data-testid": "resident-name" }, r.name, " ", el("span", { class: "badge" }, t("risk") + " " + r.risk_class)),
    phone ? el("p", {}, el("a", { class: "button small call", href: `tel:${phone}` }, `${t("resident.call")} ${phone}`)) : null,
    el("p", {}, r.categories.map((c) => el("span", { class: "tag" }, t("category." + c)))),
    el("p", {}, t("resident.assessment"), ": ", r.assessment_level ?? "—", " · ", r.address || ""),
    el("p", {}, t("resident.medical"), ": ", r.medical_notes || "—"),
    el("p", {}, t("resident.key_holder"), ": ", r.key_holder || "—"),
    el("h4", {}, t("resident.contacts")),
    el("ul", {}, detail.contacts.map((c) => el("li", {}, `${c.position}. ${c.name} (${t("relation." + c.relation)}) `,
      c.phone ? el("a", { class: "call", href: `tel:${c.phone}`, "data-testid": "call-contact" }, `${t("resident.call_contact")} ${c.phone}`) : ""))),
    el("h4", {}, t("resident.devices")),
    el("ul", {}, detail.devices.map((d) => el("li", { "data-testid": "device", class: d.offline ? "error" : "" },
      `${d.id} · ${t("device." + d.kind)} `, deviceBadge(d)))),
  ].filter(Boolean));
  vitalsChart(document.getElementById("vitals-chart"), vitals);
  activityChart(document.getElementById("activity-chart"), activity);
}

async function loadMap() {
  const [residents, stations, staff] = await Promise.all([api("/api/residents"), api("/api/stations"), api("/api/staff")]);
  residents.forEach((r) => residentNames.set(r.id, r.name));
  placeMarkers(view, "residents", "resident", residents.map((r) => ({ lat: r.lat, lon: r.lon, label: r.name })));
  placeMarkers(view, "stations", "station", stations.map((s) => ({ lat: s.lat, lon: s.lon, label: s.name })));
  for (const s of staff) staffSpots.set(s.id, { lat: s.last_lat, lon: s.last_lon, label: `${s.name} · ${t("staff_status." + s.status)}` });
  drawStaff();
  if (provisional.size) renderQueue();
}

// The desk's keys: never while typing (desk.js checks).
function acknowledgeTarget() {
  const current = alerts.get(selected);
  return current && canAcknowledge(current) ? current : queueOrder().find(canAcknowledge);
}

function step(by) {
  const order = queueOrder();
  if (!order.length) return;
  const at = order.findIndex((a) => a.id === selected);
  const next = order[Math.min(order.length - 1, Math.max(0, at < 0 ? 0 : at + by))];
  select(next.id);
}

function toggleHelp(show) {
  const help = document.getElementById("shortcuts");
  help.hidden = show === undefined ? !help.hidden : !show;
  if (!help.hidden) renderShortcuts(help);
}

wireShortcuts({
  a: () => { const target = acknowledgeTarget(); if (target) move(target.id, "acknowledge"); },
  d: () => { if (selected !== null && selectedCase?.suggested) dispatchTo(selected, selectedCase.suggested); },
  j: () => step(1),
  k: () => step(-1),
  n: () => { if (selected !== null) document.getElementById("note-text").focus(); },
  "?": () => toggleHelp(),
  escape: () => toggleHelp(false),
});
document.getElementById("shortcuts-button").addEventListener("click", () => toggleHelp());

function showHandover() {
  renderHandover(document.getElementById("handover"), queueOrder(), {
    dispatchLine, onPick: (id) => { setView(false); select(id); },
  });
  tick();
}

function setView(handover) {
  document.getElementById("handover").hidden = !handover;
  document.querySelector("main.console").hidden = handover;
  document.getElementById("handover-toggle").classList.toggle("primary", handover);
  const url = new URL(location.href);
  if (handover) url.searchParams.set("view", "handover"); else url.searchParams.delete("view");
  history.replaceState(null, "", url);
  if (handover) showHandover();
}
document.getElementById("handover-toggle").addEventListener("click", () => setView(document.getElementById("handover").hidden));

const onLive = (message) => Promise.resolve(ON_LIVE[message.type]?.(message)).catch((exc) => console.warn("live", exc));
live(onLive, (up) => document.getElementById("live-status").classList.toggle("up", up));
await loadQueue();
loadMap().catch((exc) => toast(explain(exc), true));
if (new URLSearchParams(location.search).get("view") === "handover") setView(true);
window.anxinReady = true;
