// Charts on ECharts (from npm, served from node_modules): vitals over a day, activity by room, figures.
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

export function stackedDays(node, title, rows, kindTitle) {
  const days = [...new Set(rows.map((r) => r.day))].sort();
  const kinds = [...new Set(rows.map((r) => r.kind))];
  chart(node).setOption({
    animation: false,
    title: { text: title, textStyle: { fontSize: 14 } },
    legend: { top: 24, data: kinds.map(kindTitle) },
    grid: { left: 40, right: 10, top: 70, bottom: 30 },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: days },
    yAxis: { type: "value" },
    series: kinds.map((kind) => ({
      name: kindTitle(kind), type: "bar", stack: "kinds",
      data: days.map((d) => rows.find((r) => r.day === d && r.kind === kind)?.alerts ?? 0),
    })),
  }, true);
}

export function zone() { return config().timezone; }
