// Supervisor figures as charts: time to acknowledge, time to arrive, shares, alerts per kind per day, devices.
import { api, boot, el, fmtSpan, kindTitle, t, wireHeader } from "./common.js";
import { barChart, stackedDays } from "./charts.js";

await boot();
wireHeader();

const pct = (v) => (v === null ? null : Math.round(v * 1000) / 10);
const min = (s) => (s === null ? null : Math.round(s / 6) / 10);

async function load() {
  const f = await api(`/api/figures?days=${document.getElementById("days").value}`);
  const numbers = [
    ["figures.alerts", f.alerts], ["figures.ack_median", fmtSpan(f.ack_median_s)], ["figures.ack_p90", fmtSpan(f.ack_p90_s)],
    ["figures.ack_60s", pct(f.ack_within_60s) ?? "—", "%"], ["figures.arrive_median", fmtSpan(f.arrive_median_s)],
    ["figures.arrive_p90", fmtSpan(f.arrive_p90_s)], ["figures.arrive_promise", pct(f.arrive_within_promise) ?? "—", "%"],
    ["figures.false_alarms", pct(f.false_alarm_share) ?? "—", "%"],
    ["figures.offline", `${f.devices_offline} / ${f.devices}`], ["figures.low_battery", `${f.devices_low_battery} / ${f.devices}`],
  ];
  document.getElementById("numbers").replaceChildren(...numbers.map(([key, value, unit]) =>
    el("div", { class: "number card" }, el("span", { class: "muted" }, t(key)), el("strong", {}, `${value}${unit || ""}`))));
  barChart(document.getElementById("ack-chart"), t("figures.ack_title"), [t("figures.median"), "p90"], [f.ack_median_s, f.ack_p90_s].map((s) => (s === null ? null : Math.round(s))), " s");
  barChart(document.getElementById("arrive-chart"), t("figures.arrive_title"), [t("figures.median"), "p90"], [min(f.arrive_median_s), min(f.arrive_p90_s)], " min");
  barChart(document.getElementById("share-chart"), t("figures.share_title"),
    [t("figures.ack_60s"), t("figures.within_15"), t("figures.within_30"), t("figures.false_alarms")],
    [pct(f.ack_within_60s), pct(f.arrive_within_15min), pct(f.arrive_within_30min), pct(f.false_alarm_share)], "%");
  stackedDays(document.getElementById("kinds-chart"), t("figures.kinds_title"), f.per_kind_day, kindTitle);
  barChart(document.getElementById("devices-chart"), t("figures.devices_title"),
    [t("figures.devices"), t("figures.offline"), t("figures.low_battery")], [f.devices, f.devices_offline, f.devices_low_battery]);
}

document.getElementById("days").onchange = load;
await load();
window.anxinReady = true;
