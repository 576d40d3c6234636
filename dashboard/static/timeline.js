// The case timeline, shared by the console, the staff page and the family page.
import { el, fmtTime, isZh, kindTitle, t } from "./common.js";

// Dispatch ends whose reason is the staff member's own words; a timeout or a withdrawal says it in its label
// (the server's reason for those is for the log, and in one language only).
const SAYS_WHY = new Set(["declined"]);
const staffOf = (entry) => (entry.actor || "").replace(/^staff:/, "") || t("timeline.system");

function describe(entry) {
  switch (entry.source) {
    case "transition": return t("state." + entry.what) + (entry.detail?.outcome ? ` (${t("outcome." + entry.detail.outcome)})` : "");
    case "finding": return kindTitle(entry.what) + (entry.detail?.cancels ? ` · ${t("timeline.cancel_key")}` : "");
    case "dispatch": return t("timeline.dispatch", { name: entry.note || staffOf(entry), what: t("task." + entry.what) })
      + (SAYS_WHY.has(entry.what) && entry.detail?.reason ? ` · ${t("live.reason", { reason: entry.detail.reason })}` : "");
    case "note": return `${t("timeline.note")} · ${entry.detail?.name || entry.actor || ""}`;
    case "command": return `${t("timeline.command_" + entry.what, { number: entry.note || "" })} · ${entry.detail?.name || ""}`;
    case "reply": return `${entry.note || t("family")}: ${t("reply." + entry.what)}`;
    case "escalation": return t("escalation." + entry.what);
    case "notice": return t(entry.detail?.state === "failed" ? "timeline.notice_failed" : "timeline.notice_sent",
      { who: entry.note || "", what: t("notice." + entry.what) });
    case "delivery": return t(entry.detail?.ok ? "timeline.delivery_ok" : "timeline.delivery_failed",
      { who: entry.note || t("recipient." + entry.actor.split(":")[0]), what: t("delivery." + entry.what),
        channel: t("channel." + (entry.detail?.channel || "none")) });
    default: return entry.what;
  }
}

export function renderTimeline(list, entries) {
  // A failed delivery's detail is the channel's own words (often English): kept for the curious, as a tooltip.
  const why = (entry) => (entry.source === "delivery" && !entry.detail?.ok && entry.detail?.detail) || null;
  list.replaceChildren(...entries.map((entry) => el("li", { class: `tl tl-${entry.source}`, "data-testid": "timeline-entry",
    title: why(entry), dataset: { source: entry.source, what: entry.what } },
    el("time", {}, fmtTime(entry.at, true)), " ", describe(entry),
    entry.source === "finding" && entry.note ? el("div", { class: "muted" }, isZh() ? entry.detail?.zh || entry.note : entry.note) : null,
    // A raise's note is the detector's English explanation, shown (translated) with its finding above.
    entry.source === "transition" && entry.note && entry.detail?.from ? el("div", { class: "muted" }, entry.note) : null,
    entry.source === "note" ? el("div", { class: "note-text" }, entry.note) : null)));
}
