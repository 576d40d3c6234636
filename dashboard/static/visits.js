// The supervisors' welfare-visit page: every planned visit, the overdue first and marked, with whom it is
// assigned to; and the visits done in the last 7 days with their notes. Other roles go to their own home.
import { api, boot, el, fmtTime, t, user, wireHeader } from "./common.js";
import { findingsText, fmtDay, overdueTag, whyText } from "./visitview.js";

const SUPERVISING = new Set(["supervisor", "admin"]);

function empty(columns) {
  return el("tr", {}, el("td", { colspan: columns, class: "muted" }, t("visits.none")));
}

function plannedRow(v) {
  return el("tr", { class: v.overdue ? "overdue" : null, "data-testid": "visit-row", dataset: { visitId: v.id, overdue: v.overdue } },
    el("td", {}, v.resident_name || v.resident_id), el("td", {}, v.address || "—"), el("td", {}, whyText(v)),
    el("td", {}, fmtDay(v.due_at), " ", overdueTag(v)),
    el("td", {}, v.staff_name || el("span", { class: "muted" }, t("visit.unassigned"))));
}

function doneRow(v) {
  return el("tr", { "data-testid": "visit-done-row", dataset: { visitId: v.id } },
    el("td", {}, v.resident_name || v.resident_id), el("td", {}, fmtDay(v.done_at), " ", fmtTime(v.done_at)),
    el("td", {}, v.staff_name || "—"), el("td", {}, whyText(v)), el("td", {}, findingsText(v.findings)),
    el("td", {}, v.notes || ""));
}

async function load() {
  const [planned, done] = await Promise.all([api("/api/visits?status=planned"), api("/api/visits?status=done&days=7")]);
  const overdue = planned.filter((v) => v.overdue);
  // Overdue first; within each group the server's order (soonest due first) stands.
  const ordered = [...overdue, ...planned.filter((v) => !v.overdue)];
  document.getElementById("planned").replaceChildren(...(ordered.length ? ordered.map(plannedRow) : [empty(5)]));
  document.getElementById("done").replaceChildren(...(done.length ? done.map(doneRow) : [empty(6)]));
  const count = document.getElementById("overdue-count");
  count.hidden = overdue.length === 0;
  count.textContent = t("visits.overdue_count", { n: overdue.length });
}

await boot();
if (!SUPERVISING.has(user().role)) {
  location.replace(user().home);
} else {
  wireHeader();
  await load();
  window.anxinReady = true;
}
