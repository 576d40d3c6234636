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

const timeAxis = () => ({
  type: "time",
  axisLabel: { formatter: (value) => fmtTime(new Date(value).toISOString()).slice(0, 5) },
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
      name: t("room." + room), type: "bar", stack: "rooms",
      data: points.filter((p) => p.room === room).map((p) => [p.bucket, p.events]),
    })),
  }, true);
}

export function barChart(node, title, labels, values, unit = "") {
  chart(node).setOption({
    animation: false,
    title: { text: title, textStyle: { fontSize: 14 } },
    grid: { left: 50, right: 10, top: 40, bottom: 40 },
    tooltip: { trigger: "axis", valueFormatter: (v) => (v === null ? "—" : `${v}${unit}`) },
    xAxis: { type: "category", data: labels },
    yAxis: { type: "value" },
    series: [{ type: "bar", data: values, label: { show: true, position: "top" } }],
  }, true);
}

const noData = (text) => [{ type: "text", left: "center", top: "middle", style: { text, fontSize: 14, fill: "#6b7280" } }];

export function stackedDays(node, title, rows, kindTitle, empty = "") {
  const days = [...new Set(rows.map((r) => r.day))].sort();
  const kinds = [...new Set(rows.map((r) => r.kind))];
  chart(node).setOption({
    animation: false,
    title: { text: title, left: 0, textStyle: { fontSize: 14 } },
    legend: { top: 28, data: kinds.map(kindTitle) },
    grid: { left: 40, right: 10, top: 70, bottom: 30 },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: days },
    yAxis: { type: "value" },
    graphic: rows.length || !empty ? [] : noData(empty),
    series: kinds.map((kind) => ({
      name: kindTitle(kind), type: "bar", stack: "kinds",
      data: days.map((d) => rows.find((r) => r.day === d && r.kind === kind)?.alerts ?? 0),
    })),
  }, true);
}

// Two shares per local day (answered within 60 s, arrived within the promise), each point with its
// denominator in the tooltip; a day that had nothing to judge is a gap, a period with nothing says so.
export function shareTrend(node, title, days, labels) {
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
    title: { text: title, left: 0, textStyle: { fontSize: 14 } },
    legend: { top: 28, data: series.map((s) => s.name) },
    grid: { left: 45, right: 10, top: 60, bottom: 30 },
    tooltip: {
      trigger: "axis",
      formatter: (items) => [items[0]?.axisValue, ...items.map((i) =>
        `${i.marker}${i.seriesName}: ${i.value === null ? "—" : `${i.value}% (${i.data.counts[0]}/${i.data.counts[1]})`}`)].join("<br>"),
    },
    xAxis: { type: "category", data: days.map((d) => d.key) },
    yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
    graphic: empty ? noData(labels.empty) : [],
    series,
  }, true);
}

export function zone() { return config().timezone; }
