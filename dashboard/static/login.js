// The sign-in page. The handler is attached before anything is awaited, so the browser never submits the
// form itself (which would put the password in a URL); the button is enabled only once the page is ready.
// After failed sign-ins the server asks for a wait (retry_after_s): the page counts it down in its own
// language and enables the button again when it is over. Switching language keeps what was typed.
import { api, boot, chosenLocale, explain, t } from "./common.js";

const form = document.getElementById("login-form");
const submit = form.querySelector("[data-testid=login-submit]");
const error = document.getElementById("login-error");
const wait = document.getElementById("login-wait");
let refused = null;  // the last refusal, kept to be said again in another language
let until = 0;  // when the wait asked for is over (ms since the epoch)
let ticking = null;
let ready = false;

// A page that sent us here (a staff member's task link, say) is where we go back to: only a path on this
// site, never another origin, and only the page of the user's own role.
function returnTo(home) {
  const next = new URLSearchParams(location.search).get("next") || "";
  const samePage = next.startsWith(home + "?") || next === home;
  return next.startsWith("/") && !next.startsWith("//") && samePage ? next : home;
}

function render() {
  error.textContent = refused && refused.detail?.code !== "login_wait" ? explain(refused) : "";
  const left = Math.ceil((until - Date.now()) / 1000);
  if (left > 0) {
    wait.textContent = t("login.wait", { s: left });
    wait.dataset.seconds = String(left);
  } else {
    wait.textContent = until ? t("login.may_retry") : "";
    delete wait.dataset.seconds;
  }
  submit.disabled = !ready || left > 0;
}

function waitFor(seconds) {
  clearInterval(ticking);
  until = seconds > 0 ? Date.now() + seconds * 1000 : 0;
  render();
  if (seconds > 0) {
    ticking = setInterval(() => {
      render();
      if (Date.now() >= until) clearInterval(ticking);
    }, 250);
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (submit.disabled) return;
  refused = null;
  render();
  try {
    const body = { username: form.username.value, password: form.password.value };
    if (chosenLocale()) body.locale = chosenLocale();  // the language chosen here becomes the user's
    const session = await api("/api/auth/login", { method: "POST", body });
    location.href = returnTo(session.user.home);
  } catch (exc) {
    refused = exc;
    waitFor(Number(exc.detail?.retry_after_s) || 0);
    if (exc.detail?.code === "login_failed") form.password.select();
  }
});

await boot({ requireUser: false, onLocale: render });
ready = true;
render();
window.anxinLoginReady = true;  // not anxinReady: the pages after sign-in set that
