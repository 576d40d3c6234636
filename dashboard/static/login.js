import { api, boot, t } from "./common.js";

await boot({ requireUser: false });
const form = document.getElementById("login-form");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("login-error");
  error.textContent = "";
  try {
    const session = await api("/api/auth/login", {
      method: "POST", body: { username: form.username.value, password: form.password.value },
    });
    location.href = session.user.home;
  } catch (exc) {
    error.textContent = t("login.failed") + " " + exc.message;
  }
});
