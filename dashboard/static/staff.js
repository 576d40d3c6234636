// The field staff page (phone-sized): my tasks, accept/decline, navigation, calls, arrived, outcome; my
// welfare visits, each closed with a short structured note. An offered task rings and vibrates every few
// seconds until it is answered (accepted, declined or timed out); accept is the one big button, decline
// sits apart and asks why in the page. Each task says when to be at the door ("arrive by 03:03 (in 6 min)"),
// and has call buttons for the resident and each contact; an outcome is confirmed on the page until the
// staff member dismisses it. While a task is live the phone reports its position every 30 s and right
// after accept, so the desk ranks staff by where they really are. Opened as /staff?task=<assignment id>
// (the link in an offer message) the page scrolls to that task and marks it.
import { api, boot, config, el, explain, fmtTime, isZh, kindTitle, live, newestDraws, t, toast, user, wireHeader } from "./common.js";
import { makeRinger } from "./ringer.js";
import { fmtDay, overdueTag, whyText } from "./visitview.js";

await boot();
wireHeader();

const NEXT = { offered: ["accept"], accepted: ["en_route", "on_site"], en_route: ["on_site"], on_site: ["outcome"] };
const POSITION_EVERY_MS = 30000;
const CLOCK_EVERY_MS = 15000;
const DECLINE_REASONS = ["too_far", "busy", "no_transport", "unwell", "other"];
const DONE_KEY = "anxin.staff.done";  // the confirmation survives the reloads live messages cause
const wanted = new URLSearchParams(location.search).get("task");
let shownWanted = false;
const ringer = makeRinger();
window.anxinRing = ringer.status;

function navLink(task) {
  if (task.lat === null) return null;
  const name = encodeURIComponent(task.resident_name || "");
  return el("a", { class: "button", "data-testid": "navigate", target: "_blank", rel: "noopener",
    href: `https://uri.amap.com/navigation?to=${task.lon},${task.lat},${name}&mode=ride&coordinate=wgs84` }, t("staff.navigate"));
}

// --- when to be there -------------------------------------------------------------------------------
function arriveBy(deadline) {
  const left = Math.round((Date.parse(deadline) - Date.now()) / 60000);
  const time = fmtTime(deadline).slice(0, 5);
  return left >= 0 ? t("staff.arrive_by", { time, min: left }) : t("staff.arrive_late", { time, min: -left });
}

function tickClocks() {
  document.querySelectorAll("[data-testid=arrive-by]").forEach((line) => {
    line.textContent = arriveBy(line.dataset.deadline);
    line.classList.toggle("error", Date.parse(line.dataset.deadline) < Date.now());
  });
}

// --- calls ------------------------------------------------------------------------------------------
function callButtons(task) {
  const calls = [];
  if (task.resident_phone) {
    calls.push(el("a", { class: "button call", "data-testid": "call-resident", href: `tel:${task.resident_phone}` },
      t("staff.call_resident", { name: task.resident_name || "" })));
  }
  for (const c of task.contacts || []) {
    calls.push(el("a", { class: "button call", "data-testid": "call-contact", href: `tel:${c.phone}` },
      t("staff.call_contact", { name: c.name, relation: t("relation." + c.relation) })));
  }
  return calls.length ? el("div", { class: "calls" }, calls) : null;
}

// --- answering an offer -----------------------------------------------------------------------------
function declineChooser(task) {
  const other = el("input", { type: "text", name: "other", maxlength: 200, "data-testid": "decline-other",
    placeholder: t("staff.decline_other_placeholder") });
  const form = el("form", { class: "decline-form", "data-testid": "decline-form", hidden: true, dataset: { assignmentId: task.assignment_id } },
    el("fieldset", { class: "choice" }, el("legend", {}, t("staff.decline_title")),
      ...DECLINE_REASONS.map((code) => el("label", {},
        el("input", { type: "radio", name: "reason", value: code, required: true, "data-testid": `decline-reason-${code}` }),
        t("staff.decline." + code)))),
    other,
    el("div", { class: "actions" },
      el("button", { type: "button", "data-testid": "decline-back", onclick: () => { form.hidden = true; opener.hidden = false; } },
        t("staff.decline_back")),
      el("button", { type: "submit", class: "danger", "data-testid": "decline-confirm" }, t("staff.decline_confirm"))));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const code = new FormData(form).get("reason");
    if (!code) { toast(t("staff.decline_pick"), true); return; }
    // The reason travels as the staff member's own words, in their language, as a typed one would.
    const words = t("staff.decline." + code) + (other.value.trim() ? `: ${other.value.trim()}` : "");
    act(task, "decline", { reason: words.slice(0, 300) }, t("staff.declined"));
  });
  const opener = el("button", { type: "button", class: "link decline-open", "data-testid": "task-decline",
    onclick: () => { form.hidden = false; opener.hidden = true; form.querySelector("input").focus(); } }, t("staff.decline_open"));
  return el("div", { class: "decline" }, opener, form);
}

// The outcome chosen on a task survives the re-render a live message causes.
const chosenOutcome = new Map();

function outcomeStep(task) {
  const outcomes = config().staff_outcomes;
  const chosen = chosenOutcome.get(task.assignment_id) || "";
  const select = el("select", { "data-testid": "staff-outcome", required: true,
    onchange: (event) => chosenOutcome.set(task.assignment_id, event.target.value) },
    el("option", { value: "", disabled: true, selected: !chosen }, t("staff.outcome_pick")),
    Object.entries(outcomes).map(([code, o]) => el("option", { value: code, selected: code === chosen }, isZh() ? o.zh : o.en)));
  return [select, el("button", { class: "primary big", "data-testid": "task-outcome", onclick: () => {
    if (!select.value) { toast(t("staff.outcome_pick"), true); return; }
    act(task, "outcome", { outcome: select.value });
  } }, t("task.do_outcome"))];
}

function stepButton(task, step) {
  if (step === "outcome") return outcomeStep(task);
  const kind = step === "accept" || step === "on_site" ? "primary big" : "primary";
  return [el("button", { class: kind, "data-testid": `task-${step}`, onclick: () => act(task, step) }, t("task.do_" + step))];
}

async function act(task, step, body, done) {
  try {
    await api(`/api/tasks/${task.assignment_id}/${step}`, { method: "POST", body });
    if (step === "accept") reportPosition();
    if (step === "outcome") remember(task, body.outcome);
    if (done) toast(done);
  } catch (exc) { toast(explain(exc), true); }
  await load();
}

// --- the confirmation after an outcome --------------------------------------------------------------
function remember(task, outcome) {
  const o = config().staff_outcomes[outcome];
  sessionStorage.setItem(DONE_KEY, JSON.stringify({ assignment: task.assignment_id, resident: task.resident_name,
    outcome: o ? { zh: o.zh, en: o.en } : { zh: outcome, en: outcome }, at: new Date().toISOString() }));
}

function showDone() {
  const box = document.getElementById("task-done");
  const done = JSON.parse(sessionStorage.getItem(DONE_KEY) || "null");
  box.hidden = !done;
  if (!done) return;
  box.replaceChildren(
    el("h2", {}, t("staff.done_title")),
    el("p", { "data-testid": "task-done-text" }, t("staff.done_text",
      { resident: done.resident || "", outcome: isZh() ? done.outcome.zh : done.outcome.en, time: fmtTime(done.at).slice(0, 5) })),
    el("button", { class: "primary", "data-testid": "task-done-ok", onclick: () => { sessionStorage.removeItem(DONE_KEY); showDone(); } },
      t("staff.done_ok")));
}

// --- where I am -------------------------------------------------------------------------------------
// GeolocationPositionError codes → what the page says, once; a phone without the API counts as code 2.
const GEO_NOTICES = { 1: "staff.geo_denied", 2: "staff.geo_unavailable", 3: "staff.geo_unavailable" };
let positionTimer = null;

function geoNotice(code) {
  const notice = document.getElementById("geo-notice");
  if (code === null) { notice.hidden = true; return; }
  notice.textContent = t(GEO_NOTICES[code] || "staff.geo_unavailable");
  notice.hidden = false;
}

function reportPosition() {
  if (!navigator.geolocation) { geoNotice(2); return; }
  navigator.geolocation.getCurrentPosition(
    (where) => {
      geoNotice(null);
      const body = { lat: where.coords.latitude, lon: where.coords.longitude };
      api(`/api/staff/${encodeURIComponent(user().staff_id)}`, { method: "PATCH", body }).catch(() => {});
    },
    (error) => geoNotice(error.code),
    { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 });  // always fresh: the ranking uses it
}

function trackPosition(hasLiveTask) {
  if (hasLiveTask && positionTimer === null) {
    reportPosition();
    positionTimer = setInterval(reportPosition, POSITION_EVERY_MS);
  } else if (!hasLiveTask && positionTimer !== null) {
    clearInterval(positionTimer);
    positionTimer = null;
  }
}

// --- my tasks ---------------------------------------------------------------------------------------
function taskCard(task) {
  const picked = String(task.assignment_id) === wanted;
  const offered = task.state === "offered";
  const classes = ["card", "task", picked ? "highlight" : "", offered ? "offered" : ""].filter(Boolean).join(" ");
  return el("li", { class: classes, "data-testid": "staff-task", "aria-current": picked ? "true" : null,
    dataset: { state: task.state, assignmentId: task.assignment_id } },
    offered ? el("p", { class: "ringing", role: "alert", "data-testid": "offer-banner" }, t("staff.new_offer")) : null,
    el("h2", {}, kindTitle(task.alert_kind), " · ", task.resident_name),
    el("p", {}, task.address || ""),
    el("p", { class: "arrive-by", "data-testid": "arrive-by", dataset: { deadline: task.deadline } }, arriveBy(task.deadline)),
    el("p", { class: "muted" }, t("staff.travel", { min: Math.max(1, Math.round(task.eta_min)) })),
    task.medical_notes ? el("p", { class: "muted" }, t("resident.medical"), ": ", task.medical_notes) : null,
    task.key_holder ? el("p", { class: "muted" }, t("resident.key_holder"), ": ", task.key_holder) : null,
    el("p", {}, el("span", { class: "state" }, t("task." + task.state))),
    callButtons(task),
    el("div", { class: "actions" }, ...(NEXT[task.state] || []).flatMap((s) => stepButton(task, s)), navLink(task)),
    offered ? declineChooser(task) : null);
}

function showWanted() {
  if (!wanted || shownWanted) return;
  shownWanted = true;
  const find = () => document.querySelector(`[data-testid=staff-task][data-assignment-id="${CSS.escape(wanted)}"]`);
  if (!find()) { toast(t("staff.task_gone"), true); return; }
  // Scroll now and again as late parts settle (a notice, a re-render from a live message), so it stays in view.
  find().scrollIntoView({ block: "start" });
  for (const delay of [300, 1000]) setTimeout(() => find()?.scrollIntoView({ block: "start" }), delay);
}

// A decline form being filled in is not wiped by a live message, while its task is still offered.
function choosing(tasks) {
  const open = [...document.querySelectorAll("[data-testid=decline-form]")].filter((f) => !f.hidden).map((f) => f.dataset.assignmentId);
  return tasks.some((t) => t.state === "offered" && open.includes(String(t.assignment_id)));
}

const load = newestDraws(async (fresh) => {
  const tasks = await api("/api/tasks?live_only=true");
  if (!fresh()) return;  // a newer read is on its way, or drew already
  if (tasks.some((t) => t.state === "offered")) ringer.start(); else ringer.stop();
  showDone();
  if (choosing(tasks)) return;
  document.getElementById("no-tasks").hidden = tasks.length > 0;
  document.getElementById("tasks").replaceChildren(...tasks.map(taskCard));
  trackPosition(tasks.length > 0);  // every task listed here is live: offered, accepted, en route or on site
});

// --- my visits --------------------------------------------------------------------------------------
// The note's questions: each a row of big choices; booleans travel as "true"/"false".
const CHOICES = [
  { name: "wellbeing", label: "visit.wellbeing",
    options: [["good", "visit.wellbeing.good"], ["some_concern", "visit.wellbeing.some_concern"], ["poor", "visit.wellbeing.poor"]] },
  { name: "home_safe", label: "visit.home_safe", options: [["true", "visit.yes"], ["false", "visit.no"]] },
  { name: "follow_up", label: "visit.follow_up", options: [["true", "visit.yes"], ["false", "visit.no"]] },
];
const ERRORS = { visit_not_planned: "visit.not_planned" };

function choice({ name, label, options }) {
  return el("fieldset", { class: "choice" }, el("legend", {}, t(label)),
    ...options.map(([value, key]) => el("label", {},
      el("input", { type: "radio", name, value, required: true, "data-testid": `visit-${name}-${value}` }), t(key))));
}

function noteForm(visit) {
  const save = el("button", { type: "submit", class: "primary big", "data-testid": "visit-save" }, t("visit.save"));
  const form = el("form", { class: "visit-form", "data-testid": "visit-form" }, ...CHOICES.map(choice),
    el("label", {}, t("visit.note"),
      el("textarea", { name: "note", maxlength: 500, rows: 3, placeholder: t("visit.note_placeholder"), "data-testid": "visit-note" })),
    save);
  form.addEventListener("submit", (event) => { event.preventDefault(); recordVisit(visit, form, save); });
  return el("details", { class: "visit-note" },
    el("summary", { class: "button primary", "data-testid": "visit-record" }, t("visit.record")), form);
}

async function recordVisit(visit, form, save) {
  const data = new FormData(form);
  const body = { wellbeing: data.get("wellbeing"), home_safe: data.get("home_safe") === "true",
    follow_up: data.get("follow_up") === "true", note: data.get("note") || "" };
  save.disabled = true;
  try {
    const recorded = await api(`/api/visits/${visit.id}/done`, { method: "POST", body });
    toast(t(recorded.follow_up ? "visit.recorded_follow_up" : "visit.recorded"));
  } catch (exc) {
    toast(t(ERRORS[exc.detail?.code] || "visit.save_failed"), true);
  }
  await loadVisits();
}

function visitCard(visit) {
  return el("li", { class: visit.overdue ? "card visit overdue" : "card visit", "data-testid": "staff-visit",
    dataset: { visitId: visit.id, reason: visit.reason, overdue: visit.overdue } },
    el("h2", {}, visit.resident_name || visit.resident_id),
    el("p", {}, visit.address || ""),
    el("p", {}, t("visit.due"), " ", el("strong", {}, fmtDay(visit.due_at)), " ", overdueTag(visit)),
    el("p", { class: "why" }, whyText(visit)),
    noteForm(visit));
}

const loadVisits = newestDraws(async (fresh) => {
  const visits = await api("/api/visits");
  if (!fresh()) return;
  document.getElementById("no-visits").hidden = visits.length > 0;
  document.getElementById("visits").replaceChildren(...visits.map(visitCard));
});

// Live messages reload the tasks only: reloading the visits would wipe a note being written.
live(() => load().catch(() => {}), (up) => document.getElementById("live-status").classList.toggle("up", up));
await Promise.all([load(), loadVisits()]);
showWanted();  // once both lists are drawn: a list drawn later would push the linked task out of view
setInterval(tickClocks, CLOCK_EVERY_MS);
window.anxinReady = true;
