// The roster upload: the workbook is previewed (every row checked, nothing stored), then imported.
import { boot, el, explain, t, toast, wireHeader } from "./common.js";

await boot();
wireHeader();

const form = document.getElementById("roster-form");
const importButton = document.getElementById("roster-import");
const SHEETS = ["stations", "staff", "residents"];

async function send(dryRun) {
  const file = form.file.files[0];
  if (!file) return null;
  const response = await fetch(`/api/admin/roster?dry_run=${dryRun}`, {
    method: "POST", credentials: "same-origin", body: await file.arrayBuffer(),
    headers: { "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Accept": "application/json" },
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) { const error = new Error("refused"); error.status = response.status; error.detail = body.detail; throw error; }
  return body;
}

function reason(error) {
  const key = `roster.reason.${error.reason}`;
  const text = t(key, { row: error.repeats_row ?? "" });
  return text === key ? error.reason : text;
}

function render(report) {
  const counts = el("table", {},
    el("tr", {}, ["roster.sheet", "roster.rows", "roster.imported", "roster.updated", "roster.unchanged", "roster.rejected"].map((h) => el("th", {}, t(h)))),
    SHEETS.map((s) => el("tr", { "data-testid": `roster-count-${s}` }, el("td", {}, t(`roster.sheet.${s}`)),
      ...["rows", "imported", "updated", "unchanged", "rejected"].map((k) => el("td", {}, report[s][k])))));
  const errors = SHEETS.flatMap((s) => report[s].errors.map((e) => ({ sheet: s, ...e })));
  document.getElementById("roster-report").replaceChildren(
    el("section", { class: "card wide" }, el("h2", {}, t(report.dry_run ? "roster.preview_title" : "roster.done_title")), counts),
    el("section", { class: "card wide" }, el("h2", {}, t("roster.errors_title", { n: errors.length })),
      errors.length ? el("table", { "data-testid": "roster-errors" },
        el("tr", {}, ["roster.sheet", "roster.row", "roster.column", "roster.reason"].map((h) => el("th", {}, t(h)))),
        errors.map((e) => el("tr", { "data-testid": "roster-error" }, el("td", {}, t(`roster.sheet.${e.sheet}`)), el("td", {}, e.row),
          el("td", {}, e.column), el("td", {}, reason(e))))) : el("p", { class: "muted" }, t("roster.no_errors"))));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    render(await send(true));
    importButton.disabled = false;
  } catch (exc) { toast(explain(exc), true); }
});
importButton.addEventListener("click", async () => {
  importButton.disabled = true;
  try { render(await send(false)); toast(t("roster.imported_toast")); } catch (exc) { toast(explain(exc), true); }
});
form.file.addEventListener("change", () => { importButton.disabled = true; });
window.anxinReady = true;
