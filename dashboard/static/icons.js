// Small inline-SVG icons that render everywhere (no emoji or font glyphs), and a device's state badge.
//
//   import { deviceBadge, icon, batteryIcon } from "./icons.js";
//   parent.append(deviceBadge(device));   // a DevicePublic from /api/devices or a resident's detail
//
// deviceBadge(device) → <span class="device-badge state-{state}" data-testid="device-badge"
// data-state="{state}"> with the state's icon and name in the page language (online, offline,
// hub_offline, not_worn, unknown — dashboard/store/devices.py) and, when known, a battery icon filled to
// its level with the percentage; a low battery is marked (class "low"). Icons are currentColor, 1em high,
// aria-hidden: the text beside them says the same thing. Styles are in style.css (.device-badge).
import { el, t } from "./common.js";

const NS = "http://www.w3.org/2000/svg";

function svg(paths, { viewBox = "0 0 24 24", cls = "" } = {}) {
  const node = document.createElementNS(NS, "svg");
  node.setAttribute("viewBox", viewBox);
  node.setAttribute("class", `icon ${cls}`.trim());
  node.setAttribute("aria-hidden", "true");
  node.setAttribute("focusable", "false");
  for (const [tag, attrs] of paths) {
    const child = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) child.setAttribute(k, v);
    node.append(child);
  }
  return node;
}

const STROKE = { fill: "none", stroke: "currentColor", "stroke-width": "2", "stroke-linecap": "round", "stroke-linejoin": "round" };

// Each state's icon: a dot for online, a crossed signal for offline, a crossed hub, an empty wrist band…
const SHAPES = {
  online: [["circle", { cx: "12", cy: "12", r: "6", fill: "currentColor" }]],
  offline: [["path", { d: "M2 8.5a15 15 0 0 1 20 0M5.5 12a10 10 0 0 1 13 0M9 15.5a5 5 0 0 1 6 0", ...STROKE }],
    ["path", { d: "M3 3l18 18", ...STROKE }]],
  hub: [["rect", { x: "3", y: "13", width: "18", height: "7", rx: "2", ...STROKE }],
    ["path", { d: "M12 13V8M8 6a6 6 0 0 1 8 0", ...STROKE }]],
  hub_offline: [["rect", { x: "3", y: "13", width: "18", height: "7", rx: "2", ...STROKE }],
    ["path", { d: "M12 13V8M3 3l18 18", ...STROKE }]],
  not_worn: [["rect", { x: "7", y: "6", width: "10", height: "12", rx: "3", ...STROKE }],
    ["path", { d: "M9 6V2h6v4M9 18v4h6v-4", ...STROKE }], ["path", { d: "M4 20L20 4", ...STROKE }]],
  unknown: [["circle", { cx: "12", cy: "12", r: "9", ...STROKE }],
    ["path", { d: "M9.5 9.5a2.5 2.5 0 1 1 3.5 2.3c-.7.3-1 .9-1 1.7", ...STROKE }],
    ["circle", { cx: "12", cy: "17", r: "1", fill: "currentColor" }]],
};

export function icon(name) {
  return svg(SHAPES[name] || SHAPES.unknown, { cls: `icon-${name}` });
}

export function batteryIcon(pct) {
  const level = Math.max(0, Math.min(100, Number(pct) || 0));
  const width = (14 * level) / 100;
  return svg([
    ["rect", { x: "2", y: "7", width: "18", height: "10", rx: "2", ...STROKE }],
    ["rect", { x: "21", y: "10", width: "2", height: "4", rx: "1", fill: "currentColor" }],
    ["rect", { x: "4", y: "9", width: String(width.toFixed(1)), height: "6", rx: "1", fill: "currentColor" }],
  ], { cls: "icon-battery" });
}

const STATES = ["online", "offline", "hub_offline", "not_worn", "unknown"];

export function stateOf(device) {
  if (STATES.includes(device.state)) return device.state;
  return device.offline ? "offline" : "online";  // an older answer without a state
}

export function deviceBadge(device) {
  const state = stateOf(device);
  const battery = device.battery !== null && device.battery !== undefined
    ? el("span", { class: `battery ${device.low_battery ? "low" : ""}`.trim(), title: t("device.battery", { pct: device.battery }) },
      batteryIcon(device.battery), `${device.battery}%`, device.low_battery ? ` ${t("device.low_battery")}` : null)
    : null;
  return el("span", { class: `device-badge state-${state}`, "data-testid": "device-badge", dataset: { state } },
    el("span", { class: "state" }, icon(state), t(`device.${state}`)), battery);
}
