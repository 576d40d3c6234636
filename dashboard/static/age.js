// How old an alert's event is, for the queue item and the case head.
//
//   import { eventAge } from "./age.js";
//   const node = eventAge(alert);   // an element, or null when the event is fresh
//   if (node) parent.append(node);
//
// `alert` is an AlertPublic from /api/alerts: `event_at` is when the raising event happened by the
// device clock, `received_late_s` how long after that the platform raised it. An event received more
// than FRESH_S late (a replayed day, a bracelet that was out of reach) is never shown as if fresh: the
// element says how long ago it happened ("按下于 16 小时前，延迟送达" / "pressed 16 h ago, delivered late")
// and that the promise clock runs from when the platform received it (its `title` and second line give
// the time). It carries data-testid="event-age" and the class "event-age" (style.css).
import { el, fmtTime, t } from "./common.js";

export const FRESH_S = 5 * 60;
const PRESSED = new Set(["sos"]);  // kinds the resident pressed; the rest "happened"

export function ago(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 3600) return t("age.minutes", { n: Math.max(1, Math.round(s / 60)) });
  if (s < 2 * 86400) return t("age.hours", { n: Math.round(s / 3600) });
  return t("age.days", { n: Math.round(s / 86400) });
}

export function isLate(alert) {
  return Boolean(alert && alert.event_at) && (alert.received_late_s ?? 0) > FRESH_S;
}

export function eventAge(alert, now = Date.now()) {
  if (!isLate(alert)) return null;
  const old = (now - Date.parse(alert.event_at)) / 1000;
  const what = PRESSED.has(alert.kind) ? "age.pressed" : "age.happened";
  const promise = t("age.promise", { time: fmtTime(alert.raised_at, true) });
  return el("span", { class: "event-age", "data-testid": "event-age", title: promise, dataset: { eventAt: alert.event_at } },
    el("strong", {}, t(what, { ago: ago(old), at: fmtTime(alert.event_at, true) })),
    el("small", {}, promise));
}
