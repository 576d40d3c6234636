// The field staff page (phone-sized): my tasks, accept/decline, navigation, arrived, outcome; my welfare
// visits, each closed with a short structured note. While a task is live the phone reports its position
// every 30 s and right after accept, so the desk ranks staff by where they really are. Opened as
// /staff?task=<assignment id> (the link in an offer message) the page scrolls to that task and marks it.
import { api, boot, config, el, fmtTime, isZh, kindTitle, live, t, toast, user, wireHeader } from "./common.js";
import { fmtDay, overdueTag, whyText } from "./visitview.js";

await boot();
wireHeader();

const NEXT = { offered: ["accept", "decline"], accepted: ["en_route", "on_site"], en_route: ["on_site"], on_site: ["outcome"] };
const POSITION_EVERY_MS = 30000;
const wanted = new URLSearchParams(location.search).get("task");
let shownWanted = false;

function navLink(task) {
  if (task.lat === null) return null;
  const name = encodeURIComponent(task.resident_name || "");
  return el("a", { class: "button", "data-testid": "navigate", target: "_blank", rel: "noopener",
    href: `https://uri.amap.com/navigation?to=${task.lon},${task.lat},${name}&mode=ride&coordinate=wgs84` }, t("staff.navigate"));
}

function stepButton(task, step) {
  if (step === "outcome") {
    const outcomes = config().staff_outcomes;
    const select = el("select", { "data-testid": "staff-outcome" },
      Object.entries(outcomes).map(([code, o]) => el("option", { value: code }, isZh() ? o.zh : o.en)));
    return [select, el("button", { class: "primary", "data-testid": "task-outcome",
      onclick: () => act(task, "outcome", { outcome: select.value }) }, t("task.do_outcome"))];
  }
  const onclick = () => act(task, step, step === "decline" ? { reason: prompt(t("staff.decline_reason")) || "" } : undefined);
  const kind = { accept: "primary big", decline: "" }[step] ?? "primary";
  return [el("button", { class: kind, "data-testid": `task-${step}`, onclick }, t("task.do_" + step))];
}

async function act(task, step, body) {
  try {
    await api(`/api/tasks/${task.assignment_id}/${step}`, { method: "POST", body });
    if (step === "accept") reportPosition();
  } catch (exc) { toast(exc.message, true); }
  await load();
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
  return el("li", { class: picked ? "card task highlight" : "card task", "data-testid": "staff-task", "aria-current": picked ? "true" : null,
    dataset: { state: task.state, assignmentId: task.assignment_id } },
    el("h2", {}, kindTitle(task.alert_kind), " · ", task.resident_name),
    el("p", {}, task.address || ""),
    el("p", {}, t("staff.deadline"), " ", fmtTime(task.deadline), " · ", t("dispatch.minutes", { min: task.eta_min.toFixed(0) })),
    task.medical_notes ? el("p", { class: "muted" }, t("resident.medical"), ": ", task.medical_notes) : null,
    task.key_holder ? el("p", { class: "muted" }, t("resident.key_holder"), ": ", task.key_holder) : null,
    el("p", {}, el("span", { class: "state" }, t("task." + task.state))),
    el("div", { class: "actions" }, navLink(task), ...(NEXT[task.state] || []).flatMap((s) => stepButton(task, s))));
}

function showWanted() {
  if (!wanted || shownWanted) return;
  shownWanted = true;
  const card = document.querySelector(`[data-testid=staff-task][data-assignment-id="${CSS.escape(wanted)}"]`);
  if (card) card.scrollIntoView({ block: "start" });
  else toast(t("staff.task_gone"), true);
}

async function load() {
  const tasks = await api("/api/tasks?live_only=true");
  document.getElementById("no-tasks").hidden = tasks.length > 0;
  document.getElementById("tasks").replaceChildren(...tasks.map(taskCard));
  trackPosition(tasks.length > 0);  // every task listed here is live: offered, accepted, en route or on site
  showWanted();
}

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

async function loadVisits() {
  const visits = await api("/api/visits");
  document.getElementById("no-visits").hidden = visits.length > 0;
  document.getElementById("visits").replaceChildren(...visits.map(visitCard));
}

// Live messages reload the tasks only: reloading the visits would wipe a note being written.
live(() => load().catch(() => {}), (up) => document.getElementById("live-status").classList.toggle("up", up));
await Promise.all([load(), loadVisits()]);
window.anxinReady = true;
