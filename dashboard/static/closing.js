// Closing a case: resolving needs an outcome the operator chooses (there is no default), cancelling needs
// a reason, and either is confirmed in a second step that says what will happen. A native modal <dialog>
// keeps focus inside, answers Escape and is announced with its title; the outcomes are a labelled radio
// group, so the keyboard and a screen reader reach every part. `askToClose` resolves with the request
// body ({outcome, note} or {note}) once confirmed, or null when the operator backs out. Resolving a fall
// alert also asks whether the resident really fell ({real_fall: true}); "false alarm" says they did not, so
// the box is cleared and disabled while that outcome is chosen. The platform learns from both answers.
import { el, t } from "./common.js";

export const OUTCOMES = ["false_alarm", "no_injury", "minor_injury", "hospital", "other"];

function outcomeChoice(name) {
  return el("fieldset", { class: "outcomes", role: "radiogroup", "aria-required": "true", "aria-describedby": "close-error" },
    el("legend", {}, t("close.choose")),
    OUTCOMES.map((o) => el("label", { class: "outcome" },
      el("input", { type: "radio", name, value: o, "data-testid": `outcome-${o}` }), " ", t("outcome." + o))));
}

function realFallChoice() {
  return el("div", { class: "real-fall" },
    el("label", { class: "outcome" }, el("input", { type: "checkbox", name: "real-fall", "data-testid": "real-fall", "aria-describedby": "real-fall-hint" }),
      " ", t("close.real_fall")),
    el("p", { id: "real-fall-hint", class: "muted" }, t("close.real_fall_hint")));
}

function chosen(form) {
  const outcome = form.querySelector("input[type=radio]:checked")?.value || null;
  const note = form.querySelector("textarea")?.value.trim() || "";
  const realFall = Boolean(form.querySelector("input[name=real-fall]")?.checked) && outcome !== "false_alarm";
  return { outcome, note, realFall };
}

// "False alarm" and "the resident really fell" contradict each other: choosing the first clears the second.
function syncRealFall(form) {
  const box = form.querySelector("input[name=real-fall]");
  if (!box) return;
  const falseAlarm = chosen(form).outcome === "false_alarm";
  if (falseAlarm) box.checked = false;
  box.disabled = falseAlarm;
}

// What the first step must have before it can go on, as the error key to show, or null.
const MISSING = {
  resolve: ({ outcome }) => (outcome ? null : "close.need_outcome"),
  cancel: ({ note }) => (note ? null : "close.need_reason"),
};

function confirmText(kind, { outcome, realFall }) {
  if (kind !== "resolve") return t("close.confirm_cancel");
  const text = t("close.confirm_resolve", { outcome: t("outcome." + outcome) });
  return realFall ? `${t("close.confirm_real_fall")} ${text}` : text;
}

export function askToClose(kind, caseTitle, { fall = false } = {}) {
  return new Promise((resolve) => {
    const error = el("p", { id: "close-error", class: "error", role: "alert", "data-testid": "close-error" });
    const note = el("textarea", { id: "close-note", rows: 2, maxlength: 500, "data-testid": "close-note",
      required: kind === "cancel" ? true : null });
    const choose = el("div", { class: "close-step", "data-testid": "close-choose" },
      kind === "resolve" ? outcomeChoice("close-outcome") : null,
      kind === "resolve" && fall ? realFallChoice() : null,
      el("label", { for: "close-note" }, t(kind === "resolve" ? "close.note" : "action.cancel_reason")), note, error,
      el("div", { class: "actions" },
        el("button", { type: "submit", class: "primary", "data-testid": "close-next" }, t("close.next")),
        el("button", { type: "button", value: "", "data-testid": "close-dismiss", onclick: () => finish(null) }, t("close.dismiss"))));
    const sure = el("p", { class: "confirm-text", "data-testid": "close-confirm-text", tabindex: "-1" });
    const confirm = el("div", { class: "close-step", "data-testid": "close-confirm", hidden: true }, sure,
      el("div", { class: "actions" },
        el("button", { type: "button", class: "primary danger", "data-testid": "close-confirm-button", onclick: () => finish(chosen(form)) },
          t(kind === "resolve" ? "close.do_resolve" : "close.do_cancel")),
        el("button", { type: "button", "data-testid": "close-back", onclick: () => step(false) }, t("close.back"))));
    const form = el("form", { method: "dialog", novalidate: true }, choose, confirm);
    const dialog = el("dialog", { class: "close-dialog", "data-testid": "close-dialog", "data-kind": kind,
      "aria-labelledby": "close-title", "aria-describedby": "close-case" },
    el("h2", { id: "close-title" }, t(kind === "resolve" ? "close.title_resolve" : "close.title_cancel")),
    el("p", { id: "close-case", class: "muted" }, caseTitle), form);

    function step(confirming) {
      choose.hidden = confirming;
      confirm.hidden = !confirming;
      if (confirming) { sure.textContent = confirmText(kind, chosen(form)); sure.focus(); }
      else (form.querySelector("input[type=radio]:checked") || form.querySelector("input, textarea")).focus();
    }
    let done = false;
    function finish(answer) {
      if (done) return;
      done = true;
      dialog.close();
      dialog.remove();
      const resolved = answer && { outcome: answer.outcome, note: answer.note || null, ...(answer.realFall ? { real_fall: true } : {}) };
      resolve(answer && (kind === "resolve" ? resolved : { note: answer.note }));
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const missing = MISSING[kind](chosen(form));
      error.textContent = missing ? t(missing) : "";
      if (missing) { (form.querySelector("input[type=radio]") || note).focus(); return; }
      step(true);
    });
    form.addEventListener("change", () => { error.textContent = ""; syncRealFall(form); });
    dialog.addEventListener("close", () => finish(null));  // Escape
    document.body.append(dialog);
    dialog.showModal();
    (form.querySelector("input[type=radio]") || note).focus();
  });
}
