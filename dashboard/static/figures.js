// Supervisor figures: answered within 60 s and arrived within the promise, every alert that needed it in
// the denominator (unanswered and unreached alerts count as failures), overall, per severity, per station,
// per area and as a daily trend; then alerts per kind per day and device health. The server sends counts,
// shares and seconds; everything said here is translated on the page.
//
// One unit per quantity, everywhere on the page (cards, tables, tooltips): the time to acknowledge in whole
// seconds (its target is 60 s), the time to arrive in minutes with one decimal (its promise is 15 or 30
// minutes), shares in percent with one decimal and their denominator. Chart titles are HTML headings
// above the canvas, so they can never sit on a legend or a data label.
import { api, boot, el, kindTitle, t, wireHeader } from "./common.js";
import { barChart, shareTrend, stackedDays } from "./charts.js";

await boot();
wireHeader();

const SEVERITY = ["", "low", "medium", "high", "critical"];
const pct = (v) => (v === null || v === undefined ? null : Math.round(v * 1000) / 10);

// A share with its denominator: "62.5% (5/8)"; no denominator, no share.
const share = (part, whole, value) => (whole ? `${pct(value)}% (${part}/${whole})` : t("figures.no_data"));

// A percentile: none to measure is "—"; one that falls on a failure was not reached.
const measured = (say) => (seconds, whole) => (!whole ? "—" : seconds === null ? t("figures.not_reached") : say(seconds));
const answerTime = measured((s) => t("figures.seconds", { n: Math.round(s) }));
const arrivalTime = measured((s) => t("figures.minutes", { n: (s / 60).toFixed(1) }));

const promiseLabel = (area, minutes) => t("figures.promise_of", { area: t(`area.${area}`), min: minutes.join("/") });

function promises(f) {
  const known = f.per_area.filter((g) => g.key !== null);
  return known.length ? known.map((g) => promiseLabel(g.key, g.promise_minutes)).join(" / ") : "";
}

function numbers(f) {
  const o = f.overall;
  const cards = [
    ["figures.alerts", o.alerts],
    ["figures.ack_60s", share(o.answered_in_time, o.answer_needed, o.answer_share)],
    ["figures.ack_median", answerTime(o.answer_median_s, o.answer_needed)],
    ["figures.ack_p90", answerTime(o.answer_p90_s, o.answer_needed)],
    ["figures.arrive_promise", share(o.arrived_in_time, o.arrival_needed, o.arrival_share), promises(f)],
    ["figures.arrive_median", arrivalTime(o.arrival_median_s, o.arrival_needed)],
    ["figures.arrive_p90", arrivalTime(o.arrival_p90_s, o.arrival_needed)],
    ["figures.never_answered", o.never_answered],
    ["figures.answered_late", o.answered_late],
    ["figures.never_dispatched", o.never_dispatched],
    ["figures.arrived_late", o.arrived_late],
    ["figures.never_arrived", o.never_arrived],
    ["figures.false_alarms", o.resolved ? `${pct(o.false_alarms / o.resolved)}%` : "—"],
    ["figures.offline", `${f.devices_offline} / ${f.devices}`],
    ["figures.low_battery", `${f.devices_low_battery} / ${f.devices}`],
  ];
  return cards.map(([key, value, note]) =>
    el("div", { class: "number card", dataset: { key } }, el("span", { class: "muted" }, t(key)), el("strong", {}, String(value)),
      note ? el("span", { class: "muted" }, note) : null));
}

// The columns of every group table: a header key and how to show one group's cell.
const COLUMNS = [
  ["figures.alerts", (g) => g.alerts],
  ["figures.ack_60s", (g) => share(g.answered_in_time, g.answer_needed, g.answer_share)],
  ["figures.ack_median", (g) => answerTime(g.answer_median_s, g.answer_needed)],
  ["figures.ack_p90", (g) => answerTime(g.answer_p90_s, g.answer_needed)],
  ["figures.never_answered", (g) => g.never_answered, true],
  ["figures.answered_late", (g) => g.answered_late, true],
  ["figures.arrive_promise", (g) => share(g.arrived_in_time, g.arrival_needed, g.arrival_share)],
  ["figures.arrive_median", (g) => arrivalTime(g.arrival_median_s, g.arrival_needed)],
  ["figures.arrive_p90", (g) => arrivalTime(g.arrival_p90_s, g.arrival_needed)],
  ["figures.never_dispatched", (g) => g.never_dispatched, true],
  ["figures.arrived_late", (g) => g.arrived_late, true],
  ["figures.never_arrived", (g) => g.never_arrived, true],
];

function table(groups, first, label) {
  if (!groups.length) return el("p", { class: "muted", "data-empty": "" }, t("figures.no_data"));
  const head = el("tr", {}, el("th", {}, t(first)), COLUMNS.map(([key]) => el("th", {}, t(key))));
  const rows = groups.map((g) => el("tr", {}, el("td", {}, label(g)),
    COLUMNS.map(([, cell, failure]) => el("td", { class: failure && cell(g) ? "fail" : null }, String(cell(g))))));
  return el("table", {}, el("thead", {}, head), el("tbody", {}, rows));
}

const severityLabel = (g) => t(`severity.${SEVERITY[Number(g.key)]}`);
const stationLabel = (g) => (g.key === null ? t("figures.unknown")
  : `${g.name ?? g.key}${g.station_area_type ? ` · ${t(`area.${g.station_area_type}`)}` : ""}`);
const areaLabel = (g) => (g.key === null ? t("figures.unknown") : promiseLabel(g.key, g.promise_minutes));

async function load() {
  const f = await api(`/api/figures?days=${document.getElementById("days").value}`);
  document.getElementById("numbers").replaceChildren(...numbers(f));
  shareTrend(document.getElementById("trend-chart"), f.trend,
    { answer: t("figures.ack_60s"), arrival: t("figures.arrive_promise"), empty: t("figures.no_data") });
  document.getElementById("per-severity").replaceChildren(table(f.per_severity, "figures.severity", severityLabel));
  document.getElementById("per-station").replaceChildren(table(f.per_station, "figures.station", stationLabel));
  document.getElementById("per-area").replaceChildren(table(f.per_area, "figures.area", areaLabel));
  stackedDays(document.getElementById("kinds-chart"), f.per_kind_day, kindTitle, t("figures.no_data"));
  const nothing = { trend: f.trend.every((d) => !d.answer_needed && !d.arrival_needed), kinds: !f.per_kind_day.length, devices: !f.devices };
  document.querySelectorAll("[data-chart-empty]").forEach((p) => { p.hidden = !nothing[p.dataset.chartEmpty]; });
  barChart(document.getElementById("devices-chart"), [t("figures.devices"), t("figures.offline"), t("figures.low_battery")],
    [f.devices, f.devices_offline, f.devices_low_battery], { empty: f.devices ? "" : t("figures.no_data") });
}

document.getElementById("days").onchange = load;
await load();
window.anxinReady = true;
