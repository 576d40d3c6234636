// A family member's signed reply link: confirm with one tap (a GET never records anything, so link
// previews and scanners cannot answer on the family's behalf).
import { api, boot, t } from "./common.js";

await boot({ requireUser: false });
const token = decodeURIComponent(location.pathname.split("/").pop());
document.getElementById("confirm").onclick = async () => {
  const result = document.getElementById("result");
  try {
    await api(`/api/replies/${encodeURIComponent(token)}`, { method: "POST" });
    result.textContent = t("reply.thanks");
  } catch (exc) {
    result.textContent = t("reply.bad_link");
  }
};
