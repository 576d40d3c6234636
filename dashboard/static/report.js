// The bureau's monthly report, printable: the same figures as the workbook (GET /api/reports/monthly).
import { api, boot, el, explain, kindTitle, locale, t, toast, wireHeader } from "./common.js";

await boot();
wireHeader();

const form = document.getElementById("report-form");
const previous = new Date(Date.now() - 28 * 86400e3);  // last month by default: this one is not over
form.month.value = `${previous.getFullYear()}-${String(previous.getMonth() + 1).padStart(2, "0")}`;

const pct = (share) => (share === null || share === undefined ? "—" : `${(share * 100).toFixed(1)}%`);
const minutes = (seconds, needed) => (seconds === null ? (needed ? t("report.not_reached") : "—") : (seconds / 60).toFixed(1));

function table(headers, rows) {
  if (!rows.length) return el("p", { class: "muted" }, t("figures.no_data"));
  return el("table", {}, el("tr", {}, headers.map((h) => el("th", {}, t(h)))), rows.map((r) => el("tr", {}, r.map((v) => el("td", {}, v ?? "—")))));
}

const RESPONSE = ["report.alerts", "report.answer_share", "report.never_answered", "report.answer_median",
  "report.arrival_share", "report.never_arrived", "report.never_dispatched", "report.arrival_median"];
const responseRow = (g) => [g.alerts, `${pct(g.answer_share)} (${g.answered_in_time}/${g.answer_needed})`, g.never_answered,
  minutes(g.answer_median_s, g.answer_needed), `${pct(g.arrival_share)} (${g.arrived_in_time}/${g.arrival_needed})`,
  g.never_arrived, g.never_dispatched, minutes(g.arrival_median_s, g.arrival_needed)];

function section(title, body) { return el("section", { class: "card wide" }, el("h2", {}, t(title)), body); }

async function show() {
  const params = new URLSearchParams({ month: form.month.value });
  if (form.district.value.trim()) params.set("district", form.district.value.trim());
  document.getElementById("download").href = `/api/reports/monthly?${params}&format=xlsx&lang=${locale().startsWith("zh") ? "zh" : "en"}`;
  const r = await api(`/api/reports/monthly?${params}`);
  const outcome = (code) => t(`report.outcome.${code}`);
  document.getElementById("report").replaceChildren(
    el("h2", {}, t("report.heading", { month: r.month, district: r.district || t("report.all_districts") })),
    section("report.overview", table(RESPONSE, [responseRow(r.response.overall)])),
    section("report.by_district", table(["report.district", ...RESPONSE], r.response.per_district.map((g) => [g.key || "—", ...responseRow(g)]))),
    section("report.by_station", table(["report.station", ...RESPONSE], r.response.per_station.map((g) => [g.name || g.key, ...responseRow(g)]))),
    section("report.kinds", table(["report.district", "report.station", "report.kind", "report.outcome", "report.alerts"],
      r.alerts_by_kind.map((k) => [k.district, k.station, kindTitle(k.kind), outcome(k.outcome), k.alerts]))),
    section("report.visits", table(["report.district", "report.station", "report.due", "report.done", "report.overdue"],
      r.visits.map((v) => [v.district, v.station, v.due, v.done, v.overdue]))),
    section("report.outages", table(["report.district", "report.station", "report.outage_count", "report.hours"],
      r.device_outages.map((o) => [o.district, o.station, o.outages, o.hours.toFixed(1)]))),
    section("report.risk", table(["report.district", "report.station", "report.risk_class", "report.residents"],
      r.residents_by_risk.map((x) => [x.district, x.station, x.risk_class, x.residents]))),
    section("report.categories", table(["report.district", "report.station", "report.category", "report.residents"],
      r.residents_by_category.map((x) => [x.district, x.station, t("category." + x.category), x.residents]))),
  );
}

form.addEventListener("submit", (event) => { event.preventDefault(); show().catch((exc) => toast(explain(exc), true)); });
document.getElementById("print").onclick = () => window.print();
await show();
window.anxinReady = true;
