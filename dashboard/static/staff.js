// The field staff page (phone-sized): my tasks, accept/decline, navigation, arrived, outcome.
import { api, boot, config, el, fmtTime, isZh, kindTitle, live, t, toast, wireHeader } from "./common.js";

await boot();
wireHeader();

const NEXT = { offered: ["accept", "decline"], accepted: ["en_route", "on_site"], en_route: ["on_site"], on_site: ["outcome"] };

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
  return [el("button", { class: step === "decline" ? "" : "primary", "data-testid": `task-${step}`, onclick }, t("task.do_" + step))];
}

async function act(task, step, body) {
  try {
    await api(`/api/tasks/${task.assignment_id}/${step}`, { method: "POST", body });
  } catch (exc) { toast(exc.message, true); }
  await load();
}

async function load() {
  const tasks = await api("/api/tasks?live_only=true");
  document.getElementById("no-tasks").hidden = tasks.length > 0;
  document.getElementById("tasks").replaceChildren(...tasks.map((task) => el("li", { class: "card task", "data-testid": "staff-task", dataset: { state: task.state } },
    el("h2", {}, kindTitle(task.alert_kind), " · ", task.resident_name),
    el("p", {}, task.address || ""),
    el("p", {}, t("staff.deadline"), " ", fmtTime(task.deadline), " · ", t("dispatch.minutes", { min: task.eta_min.toFixed(0) })),
    task.medical_notes ? el("p", { class: "muted" }, t("resident.medical"), ": ", task.medical_notes) : null,
    task.key_holder ? el("p", { class: "muted" }, t("resident.key_holder"), ": ", task.key_holder) : null,
    el("p", {}, el("span", { class: "state" }, t("task." + task.state))),
    el("div", { class: "actions" }, navLink(task), ...(NEXT[task.state] || []).flatMap((s) => stepButton(task, s))))));
}

live(() => load().catch(() => {}), (up) => document.getElementById("live-status").classList.toggle("up", up));
await load();
window.anxinReady = true;
