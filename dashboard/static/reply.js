// A family member's signed reply link: confirm with one tap (a GET never records anything, so link
// previews and scanners cannot answer on the family's behalf). A refusal is said in the page's language.
import { api, boot, explain, t } from "./common.js";

const result = document.getElementById("result");
let said = null;  // what the page last said: a key, or a refusal to explain again in another language

function render() {
  result.textContent = said === null ? "" : typeof said === "string" ? t(said) : explain(said);
}

await boot({ requireUser: false, onLocale: render });
const token = decodeURIComponent(location.pathname.split("/").pop());
document.getElementById("confirm").onclick = async () => {
  try {
    await api(`/api/replies/${encodeURIComponent(token)}`, { method: "POST" });
    said = "reply.thanks";
  } catch (exc) {
    said = exc;
  }
  render();
};
window.anxinReady = true;
