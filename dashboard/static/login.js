import { api, boot, t } from "./common.js";

// The handler is attached before anything is awaited, so the browser never submits the form itself
// (which would put the password in a URL); the button is enabled only once the page is ready.
const form = document.getElementById("login-form");

// A page that sent us here (a staff member's task link, say) is where we go back to: only a path on this
// site, never another origin, and only the page of the user's own role.
function returnTo(home) {
  const next = new URLSearchParams(location.search).get("next") || "";
  const samePage = next.startsWith(home + "?") || next === home;
  return next.startsWith("/") && !next.startsWith("//") && samePage ? next : home;
}
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("login-error");
  error.textContent = "";
  try {
    const session = await api("/api/auth/login", {
      method: "POST", body: { username: form.username.value, password: form.password.value },
    });
    location.href = returnTo(session.user.home);
  } catch (exc) {
    error.textContent = t("login.failed") + " " + exc.message;
  }
});

await boot({ requireUser: false });
form.querySelector("[data-testid=login-submit]").disabled = false;
