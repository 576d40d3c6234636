// The operator desk's helpers: refusals in the operator's language, keyboard shortcuts, and the shift
// handover view. The server answers refusals in codes with parameters ({code: "claimed_by_other",
// claimed_by_name: …}); `explain` (common.js, shared by every page) turns them into a sentence.
import { el, fmtSpan, fmtTime, kindTitle, t } from "./common.js";

export { explain } from "./common.js";  // one translator of refusals for every page

// Key → what it does. Never while typing: a note must be able to contain "a", "d", "j"...
export const SHORTCUTS = [
  ["a", "shortcut.acknowledge"],
  ["d", "shortcut.dispatch"],
  ["j", "shortcut.next"],
  ["k", "shortcut.previous"],
  ["n", "shortcut.note"],
  ["?", "shortcut.help"],
];

function typing(target) {
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

export function wireShortcuts(handlers) {
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const run = handlers[event.key.toLowerCase()] || handlers[event.key];
    if (!run) return;
    event.preventDefault();
    run();
  });
}

export function renderShortcuts(node) {
  node.replaceChildren(
    el("h3", {}, t("shortcut.title")),
    el("dl", {}, SHORTCUTS.flatMap(([key, label]) => [el("dt", {}, el("kbd", {}, key.toUpperCase())), el("dd", {}, t(label))])),
    el("p", { class: "muted" }, t("shortcut.close")),
  );
}

// One row per open case: what it is, where it stands, who holds it, how long it has been open, the
// dispatch line and the latest notes — what the next shift must know.
export function renderHandover(node, cases, { dispatchLine, onPick }) {
  const head = ["handover.case", "handover.state", "handover.claimed", "handover.open", "handover.dispatch", "handover.notes"];
  node.replaceChildren(
    el("h2", {}, t("handover.title"), " ", el("span", { class: "badge" }, cases.length)),
    cases.length === 0 ? el("p", { class: "muted" }, t("queue.empty")) : el("table", { class: "handover" },
      el("tr", {}, head.map((h) => el("th", {}, t(h)))),
      cases.map((a) => el("tr", { "data-testid": "handover-row", dataset: { alertId: a.id } },
        el("td", {}, el("button", { class: "link", onclick: () => onPick(a.id) }, `${kindTitle(a.kind)} · ${a.resident_name || a.resident_id}`)),
        el("td", {}, t("state." + a.state)),
        el("td", { "data-testid": "handover-claimed" }, a.claimed_by ? a.claimed_by_name || a.claimed_by : el("span", { class: "muted" }, t("claim.nobody"))),
        el("td", { class: "age", dataset: { since: a.raised_at } }, fmtSpan((Date.now() - Date.parse(a.raised_at)) / 1000)),
        el("td", {}, dispatchLine(a.id) || "—"),
        el("td", {}, a.latest_notes.length ? el("ul", { class: "notes" }, a.latest_notes.map((n) => el("li", {},
          el("time", {}, fmtTime(n.at)), " ", el("strong", {}, n.name || n.actor), ": ", n.text))) : "—")))),
  );
}
