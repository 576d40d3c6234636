// Charts on ECharts (from npm, served from node_modules): vitals over a day, activity by room, figures
// (bars, alerts per kind per day, the daily trend of the two response shares).
import * as echarts from "/vendor/echarts/echarts.esm.min.mjs";
import { config, fmtTime, t } from "./common.js";

const charts = new Map();

function chart(node) {
  if (!charts.has(node)) charts.set(node, echarts.init(node, null, { renderer: "canvas" }));
  return charts.get(node);
}

window.addEventListener("resize", () => charts.forEach((c) => c.resize()));

// The last day, whatever the data: sparse hourly bars would otherwise get minute ticks whose labels overlap.
const DAY_MS = 24 * 3600 * 1000;
const timeAxis = () => ({
  type: "time",
  min: Date.now() - DAY_MS,
  max: Date.now(),
  minInterval: 3600 * 1000,
  axisLabel: { hideOverlap: true, formatter: (value) => fmtTime(new Date(value).toISOString()).slice(0, 5) },
});

export function vitalsChart(node, points) {
  chart(node).setOption({
    animation: false,
    legend: { data: [t("chart.hr"), t("chart.spo2")], top: 0 },
    grid: { left: 40, right: 40, top: 30, bottom: 30 },
    tooltip: { trigger: "axis" },
    xAxis: timeAxis(),
    yAxis: [{ type: "value", name: "bpm", min: 40 }, { type: "value", name: "%", min: 80, max: 100 }],
    series: [
      { name: t("chart.hr"), type: "line", showSymbol: false, data: points.map((p) => [p.bucket, p.heart_rate]) },
      { name: t("chart.spo2"), type: "line", yAxisIndex: 1, showSymbol: false, data: points.map((p) => [p.bucket, p.spo2]) },
    ],
  }, true);
}

export function activityChart(node, points) {
  const rooms = [...new Set(points.map((p) => p.room))];
  chart(node).setOption({
    animation: false,
    legend: { data: rooms.map((r) => t("room." + r)), top: 0 },
    grid: { left: 40, right: 10, top: 30, bottom: 30 },
    tooltip: { trigger: "axis" },
    xAxis: timeAxis(),
    yAxis: { type: "value" },
    series: rooms.map((room) => ({
      name: t("room." + room), type: "bar", stack: "rooms", barMaxWidth: 14,
      data: points.filter((p) => p.room === room).map((p) => [p.bucket, p.events]),
    })),
  }, true);
}

// The figures' charts carry no title of their own: the page heads each with an HTML heading, so a title
// never lies over a legend or a data label. Legends scroll on one line above the plot instead of wrapping
// into it; the plot keeps its axis labels inside its box (containLabel); a chart with nothing says so.
const noData = (text) => [{ type: "text", left: "center", top: "middle", style: { text, fontSize: 14, fill: "#5b6370" } }];
const legend = (names) => ({ type: "scroll", top: 0, left: 0, right: 0, data: names });
const grid = (top) => ({ left: 8, right: 12, top, bottom: 8, containLabel: true });

export function barChart(node, labels, values, { unit = "", empty = "" } = {}) {
  chart(node).setOption({
    animation: false,
    grid: grid(24),
    tooltip: { trigger: "axis", valueFormatter: (v) => (v === null ? "—" : `${v}${unit}`) },
    xAxis: { type: "category", data: labels, axisLabel: { interval: 0, hideOverlap: true } },
    yAxis: { type: "value", minInterval: 1 },
    graphic: empty ? noData(empty) : [],
    series: [{ type: "bar", data: empty ? [] : values, label: { show: true, position: "top" } }],
  }, true);
}

export function stackedDays(node, rows, kindTitle, empty = "") {
  const days = [...new Set(rows.map((r) => r.day))].sort();
  const kinds = [...new Set(rows.map((r) => r.kind))];
  chart(node).setOption({
    animation: false,
    legend: legend(kinds.map(kindTitle)),
    grid: grid(32),
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: days, axisLabel: { hideOverlap: true } },
    yAxis: { type: "value", minInterval: 1 },
    graphic: rows.length || !empty ? [] : noData(empty),
    series: kinds.map((kind) => ({
      name: kindTitle(kind), type: "bar", stack: "kinds",
      data: days.map((d) => rows.find((r) => r.day === d && r.kind === kind)?.alerts ?? 0),
    })),
  }, true);
}

// Two shares per local day (answered within 60 s, arrived within the promise), each point with its
// denominator in the tooltip, said as the cards say it ("62.5% (5/8)"); a day that had nothing to judge
// is a gap, a period with nothing says so.
export function shareTrend(node, days, labels) {
  const point = (part, whole) => (whole ? Math.round((part / whole) * 1000) / 10 : null);
  const series = [
    ["answer", (d) => [d.answered_in_time, d.answer_needed]],
    ["arrival", (d) => [d.arrived_in_time, d.arrival_needed]],
  ].map(([name, pick]) => ({
    name: labels[name], type: "line", connectNulls: false, symbolSize: 6,
    data: days.map((d) => ({ value: point(...pick(d)), counts: pick(d) })),
  }));
  const empty = days.every((d) => !d.answer_needed && !d.arrival_needed);
  chart(node).setOption({
    animation: false,
    legend: legend(series.map((s) => s.name)),
    grid: grid(32),
    tooltip: {
      trigger: "axis",
      formatter: (items) => [items[0]?.axisValue, ...items.map((i) =>
        `${i.marker}${i.seriesName}: ${i.value === null ? "—" : `${i.value}% (${i.data.counts[0]}/${i.data.counts[1]})`}`)].join("<br>"),
    },
    xAxis: { type: "category", data: days.map((d) => d.key), axisLabel: { hideOverlap: true } },
    yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
    graphic: empty ? noData(labels.empty) : [],
    series,
  }, true);
}

export function zone() { return config().timezone; }
