// The admin page: residents (with contacts, devices and linked family accounts), devices, stations, staff
// with their weeks, user accounts, and the audit log. Each resource is described once as data (its
// fields, its list columns, its routes); one list and one form serve them all. The server answers a
// refusal with a code and the field it is about; the form names the field and marks it.
import * as L from "/vendor/leaflet/leaflet-src.esm.js";
import { api, applyStrings, boot, config, el, explain, fmtTime, isZh, newest, t, toast, wireHeader } from "./common.js";
import { toTiles } from "./geo.js";

const state = { tab: "residents", choices: null, rows: [], selected: null, drawn: undefined };
// The panel's and the form's redraws: one that waited on the server gives way to a later one (common.js).
const panelDraws = newest();
const formDraws = newest();
const WEEKDAYS = [0, 1, 2, 3, 4, 5, 6];
const SEVERITIES = ["low", "medium", "high", "critical"];

const opt = (values, label) => values.map((v) => ({ value: v, label: label(v) }));
const stationOptions = () => [{ value: "", label: "—" }, ...state.choices.stations.filter((s) => s.active)
  .map((s) => ({ value: s.id, label: s.name }))];
const districtOptions = () => [{ value: "", label: "—" }, ...state.choices.districts
  .map((d) => ({ value: String(d.id), label: d.name }))];

// Each resource: where it lives, what its list shows, what its form edits.
const RESOURCES = {
  residents: {
    path: "/api/admin/residents", detail: true,
    columns: [["name", (r) => r.name], ["station_id", (r) => r.station_name || "—"], ["risk_class", (r) => r.risk_class],
              ["categories", (r) => r.categories.map(categoryName).join("、")]],
    fields: () => [
      { name: "id", createOnly: true, optional: true }, { name: "name", required: true },
      { name: "gender", type: "select", options: [{ value: "", label: "—" }, ...opt(["F", "M"], (g) => t("gender." + g))] },
      { name: "phone" }, { name: "station_id", type: "select", options: stationOptions() },
      { name: "address", wide: true }, { name: "street" }, { name: "community" },
      { name: "area_type", type: "select", options: opt(["city", "countryside"], (a) => t("area." + a)) },
      { name: "lat", type: "number", step: "0.000001" }, { name: "lon", type: "number", step: "0.000001" },
      { name: "map", type: "map" },
      { name: "categories", type: "checks", options: state.choices.categories.map((c) => ({ value: c.code, label: categoryName(c.code) })) },
      { name: "assessment_level", type: "select", options: [{ value: "", label: "—" }, ...opt(["0", "1", "2", "3", "4"], (l) => t("assessment." + l))] },
      { name: "risk_class", type: "select", options: opt(["A", "B", "C"], (r) => t("risk." + r)) },
      { name: "key_holder" },
      { name: "heart_rate_low", type: "number" }, { name: "heart_rate_high", type: "number" }, { name: "spo2_low", type: "number" },
      { name: "learning_consent", type: "select", options: [{ value: "false", label: t("admin.no") }, { value: "true", label: t("admin.yes") }] },
      { name: "medical_notes", type: "textarea", wide: true },
    ],
  },
  devices: {
    path: "/api/admin/devices", put: (id) => `/api/admin/devices/${id}`,
    columns: [["id", (d) => d.id], ["kind", (d) => t("device_kind." + d.kind)], ["resident_id", (d) => d.resident_name || "—"],
              ["credentials", (d) => d.has_credentials ? fmtTime(d.issued_at, true) : "—"]],
    fields: (row) => [
      { name: "id", createOnly: true, required: true }, { name: "kind", createOnly: true, type: "select", options: opt(["bracelet", "hub", "sensor"], (k) => t("device_kind." + k)) },
      { name: "resident_id", type: "select", options: [{ value: "", label: "—" }, ...state.residents.map((r) => ({ value: r.id, label: `${r.name} (${r.id})` }))] },
      { name: "room" },
      { name: "model", optional: true },
      ...(row ? [] : [{ name: "sensor_kind", optional: true }, { name: "parent_id", optional: true }]),
    ],
    extra: (row) => row && row.kind !== "sensor" ? [el("button", { type: "button", "data-testid": "rotate", onclick: () => rotate(row.id) }, t("admin.rotate"))] : [],
  },
  stations: {
    path: "/api/admin/stations",
    columns: [["name", (s) => s.name], ["district_id", (s) => s.district || "—"], ["staff_count", (s) => s.staff]],
    fields: () => [
      { name: "id", createOnly: true, required: true }, { name: "name", required: true }, { name: "district_id", type: "select", options: districtOptions() },
      { name: "address", wide: true }, { name: "area_type", type: "select", options: opt(["city", "countryside"], (a) => t("area." + a)) },
      { name: "lat", type: "number", step: "0.000001" }, { name: "lon", type: "number", step: "0.000001" }, { name: "map", type: "map" },
    ],
  },
  staff: {
    path: "/api/admin/staff",
    columns: [["name", (s) => s.name], ["station_id", (s) => s.station_name], ["week", (s) => weekText(s.week)],
              ["on_shift", (s) => s.on_shift ? t("admin.yes") : "—"]],
    fields: () => [
      { name: "id", createOnly: true, required: true }, { name: "name", required: true },
      { name: "role", type: "select", options: opt(state.choices.staff_roles, (r) => t("staff_role." + r)) },
      { name: "station_id", type: "select", options: stationOptions() }, { name: "phone" }, { name: "notify_url", wide: true },
      { name: "week", type: "week" },
    ],
  },
  users: {
    path: "/api/admin/users", put: (id) => `/api/admin/users/${id}`,
    columns: [["username", (u) => u.username], ["display_name", (u) => u.display_name], ["role", (u) => t("role." + u.role)],
              ["links", (u) => u.links.map((l) => residentName(l.resident_id)).join("、")]],
    fields: () => [
      { name: "username", createOnly: true, required: true }, { name: "display_name", required: true },
      { name: "role", type: "select", options: opt(state.choices.roles, (r) => t("role." + r)) },
      { name: "password", type: "password", optional: true }, { name: "staff_id", optional: true },
      { name: "district_id", type: "select", options: districtOptions() },
      { name: "locale", type: "select", options: [{ value: "zh-CN", label: "中文" }, { value: "en", label: "English" }] },
      { name: "links", type: "links", wide: true },
    ],
  },
  audit: { audit: true },
};

function categoryName(code) {
  const c = state.choices.categories.find((x) => x.code === code);
  return c ? (isZh() ? c.name_zh : c.name_en) : code;
}
function residentName(id) { return state.residents.find((r) => r.id === id)?.name || id; }
function weekText(week) {
  return week.map((w) => `${t("weekday." + w.weekday)} ${w.starts.slice(0, 5)}–${w.ends.slice(0, 5)}`).join(", ") || "—";
}

async function start() {
  await boot({ onLocale: () => render() });
  wireHeader();
  await reloadChoices();
  render();
  window.anxinReady = true;
}

async function reloadChoices() {
  [state.choices, state.residents] = await Promise.all([api("/api/admin/choices"), api("/api/admin/residents")]);
}

function render() {
  const tabs = document.getElementById("tabs");
  tabs.replaceChildren(...Object.keys(RESOURCES).map((name) => el("button", {
    type: "button", role: "tab", id: `tab-${name}`, "aria-selected": String(state.tab === name), "data-testid": `tab-${name}`,
    onclick: () => { state.tab = name; state.selected = null; render(); },
  }, t("admin.tab." + name))));
  const panel = document.getElementById("panel");
  panel.setAttribute("aria-labelledby", `tab-${state.tab}`);
  if (RESOURCES[state.tab].audit) renderAudit(panel); else renderResource(panel);
  applyStrings(panel);
}

async function renderResource(panel) {
  const res = RESOURCES[state.tab];
  const list = el("div", { class: "card admin-list" });
  const form = el("div", { class: "card admin-form", id: "form" });
  panel.replaceChildren(el("div", { class: "admin-grid" }, list, form));
  const fresh = panelDraws();
  // The choices (districts, stations, residents) are read again with the rows: another admin may have added
  // a resident or a station since, and a form's lists must offer it.
  let rows;
  try {
    [rows] = await Promise.all([api(res.path), reloadChoices()]);
  } catch (exc) {  // said in the panel, with a way to try again (a save before it did happen)
    if (fresh()) list.replaceChildren(unreadable(exc, () => renderResource(panel)));
    return;
  }
  if (!fresh()) return;  // another tab or a later save drew the panel meanwhile
  state.rows = rows;
  const head = el("tr", {}, res.columns.map(([name]) => el("th", {}, t("field." + name))));
  const body = state.rows.map((row) => el("tr", {
    class: `row${row.active === false ? " inactive" : ""}`, "aria-current": String(state.selected === row.id),
    "data-testid": `row-${row.id}`, tabindex: "0", onclick: () => select(row.id), onkeydown: (e) => { if (e.key === "Enter") select(row.id); },
  }, res.columns.map(([, get]) => el("td", {}, get(row)))));
  list.replaceChildren(
    el("div", { class: "form-actions" }, el("button", { type: "button", class: "primary", "data-testid": "new", onclick: () => select(null) }, t("admin.new"))),
    el("table", {}, el("thead", {}, head), el("tbody", {}, body)));
  await drawForm(form);
}

// A list or form that could not be read: what went wrong, and a button to read it again.
function unreadable(exc, again) {
  return el("div", { "data-testid": "unreadable" }, el("p", { class: "form-error", role: "alert" }, explain(exc)),
    el("button", { type: "button", onclick: again }, t("admin.read_again")));
}

async function select(id) {
  // The open row clicked again keeps its form (and whatever is typed in it, a contact being added too).
  if (id !== null && id === state.selected && state.drawn === id) return;
  state.selected = id;
  document.querySelectorAll(".admin-list tr.row").forEach((r) => r.setAttribute("aria-current", String(r.dataset.testid === `row-${id}`)));
  await drawForm(document.getElementById("form"));
}

async function drawForm(node) {
  const res = RESOURCES[state.tab];
  const fresh = formDraws();
  state.drawn = state.selected;
  let row = state.rows.find((r) => r.id === state.selected) || null;
  try {
    if (row && res.detail) row = await api(`${res.path}/${row.id}`);
  } catch (exc) {
    if (fresh()) node.replaceChildren(unreadable(exc, () => drawForm(node)));
    return;
  }
  if (!fresh()) return;  // another row was chosen (or the list redrawn) meanwhile
  const fields = res.fields(row);
  const error = el("p", { class: "form-error", role: "alert", "data-testid": "form-error" });
  const grid = el("div", { class: "fields" }, fields.filter((f) => !(f.createOnly && row)).map((f) => fieldNode(f, row)));
  const save = el("button", { type: "submit", class: "primary", "data-testid": "save" }, t(row ? "admin.save" : "admin.create"));
  const toggle = row && el("button", { type: "button", "data-testid": row.active === false ? "activate" : "deactivate",
    onclick: () => setActive(row, row.active === false) }, t(row.active === false ? "admin.activate" : "admin.deactivate"));
  const form = el("form", { novalidate: true, onsubmit: (e) => { e.preventDefault(); submit(form, fields, row, error); } },
    el("div", { class: "form-head" }, el("h2", {}, row ? (row.name || row.display_name || row.id) : t("admin.new_" + state.tab)),
      el("div", { class: "form-actions" }, save, toggle, ...(res.extra ? res.extra(row) : [])), error, el("div", { id: "secret" })),
    grid);
  node.replaceChildren(form, ...(state.tab === "residents" && row ? residentParts(row) : []));
  form.querySelectorAll(".picker").forEach((p) => mountPicker(p, form));
}

function fieldNode(f, row) {
  const value = row ? row[f.name] : undefined;
  const label = (control) => ["checks", "week"].includes(f.type)  // several controls: a named group, not one label
    ? el("div", { class: "group", role: "group", "aria-label": t("field." + f.name) }, el("span", {}, t("field." + f.name)), control)
    : el("label", { class: f.wide || f.type === "links" ? "wide" : "" }, t("field." + f.name), control);
  if (f.type === "map") return el("div", { class: "picker", "data-testid": "map-picker", "aria-label": t("admin.pick_on_map") });
  if (f.type === "select") {
    return label(el("select", { name: f.name }, f.options.map((o) => el("option", { value: o.value, selected: String(value ?? "") === o.value }, o.label))));
  }
  if (f.type === "checks") {
    return label(el("div", { class: "checks" }, f.options.map((o) => el("label", {}, el("input", {
      type: "checkbox", name: f.name, value: o.value, checked: (value || []).includes(o.value) }), o.label))));
  }
  if (f.type === "textarea") return label(el("textarea", { name: f.name, rows: 2 }, value ?? ""));
  if (f.type === "week") return label(weekEditor(value || []));
  if (f.type === "links") return label(linksEditor(value || []));
  return label(el("input", { name: f.name, type: f.type || "text", step: f.step, value: value ?? "", autocomplete: f.type === "password" ? "new-password" : "off" }));
}

function weekEditor(week) {
  const box = el("div", { class: "week", "data-testid": "week" });
  const add = (w = { weekday: 0, starts: "08:00", ends: "20:00" }) => box.insertBefore(el("div", { class: "rowline shift" },
    el("select", { name: "weekday", "aria-label": t("field.weekday") }, WEEKDAYS.map((d) => el("option", { value: d, selected: d === w.weekday }, t("weekday." + d)))),
    el("input", { type: "time", name: "starts", value: w.starts.slice(0, 5), "aria-label": t("field.starts") }),
    el("input", { type: "time", name: "ends", value: w.ends.slice(0, 5), "aria-label": t("field.ends") }),
    el("button", { type: "button", class: "small", onclick: (e) => e.target.parentNode.remove() }, t("admin.remove"))), box.lastChild);
  box.append(el("button", { type: "button", class: "small", "data-testid": "add-shift", onclick: () => add() }, t("admin.add_shift")));
  week.forEach(add);
  return box;
}

function linksEditor(links) {
  const ids = new Set(links.map((l) => l.resident_id));
  return el("select", { name: "links", multiple: true, size: 4 }, state.residents.filter((r) => r.active).map((r) =>
    el("option", { value: r.id, selected: ids.has(r.id) }, `${r.name} (${r.id})`)));
}

// Click on the map to set the position; the tiles may be drawn in GCJ-02, stored positions are WGS-84.
function mountPicker(node, form) {
  const cfg = config();
  const project = toTiles(cfg.tile_crs || "wgs84");
  const unproject = (lat, lon) => {  // invert by fixed-point iteration: project is close to a shift
    let [a, b] = [lat, lon];
    for (let i = 0; i < 4; i++) { const [pa, pb] = project(a, b); a -= pa - lat; b -= pb - lon; }
    return [a, b];
  };
  const lat = form.elements.lat, lon = form.elements.lon;
  const at = lat.value && lon.value ? [Number(lat.value), Number(lon.value)] : cfg.map_center;
  const map = L.map(node, { attributionControl: false }).setView(project(...at), 14);
  L.tileLayer(cfg.tile_url, { subdomains: cfg.tile_subdomains, maxZoom: 18 }).addTo(map);
  const marker = L.circleMarker(project(...at), { radius: 8, color: "#0f766e" }).addTo(map);
  map.on("click", (e) => {
    const [a, b] = unproject(e.latlng.lat, e.latlng.lng);
    lat.value = a.toFixed(6); lon.value = b.toFixed(6);
    marker.setLatLng(e.latlng);
  });
  const move = () => { if (lat.value && lon.value) marker.setLatLng(project(Number(lat.value), Number(lon.value))); };
  lat.addEventListener("change", move); lon.addEventListener("change", move);
}

function collect(form, fields, row) {
  const body = {};
  for (const f of fields) {
    if (f.type === "map" || (f.createOnly && row)) continue;
    if (f.type === "checks") { body[f.name] = [...form.querySelectorAll(`input[name=${f.name}]:checked`)].map((i) => i.value); continue; }
    if (f.type === "week") {
      body.week = [...form.querySelectorAll(".shift")].map((s) => ({ weekday: Number(s.querySelector("[name=weekday]").value),
        starts: s.querySelector("[name=starts]").value, ends: s.querySelector("[name=ends]").value }));
      continue;
    }
    if (f.type === "links") { body.links = [...form.elements.links.selectedOptions].map((o) => ({ resident_id: o.value })); continue; }
    const raw = form.elements[f.name].value.trim();
    if (raw === "") {  // a required text is sent empty (the server says it must not be), the rest as "not set"
      if (f.optional) continue;
      body[f.name] = f.required ? "" : null;
      continue;
    }
    body[f.name] = f.type === "number" || f.name === "district_id" || f.name === "assessment_level" ? Number(raw) : raw;
  }
  return body;
}

async function submit(form, fields, row, error) {
  const res = RESOURCES[state.tab];
  const body = collect(form, fields, row);
  form.querySelectorAll("[aria-invalid]").forEach((n) => n.removeAttribute("aria-invalid"));
  error.textContent = "";
  try {
    let saved;
    if (!row) saved = await api(res.path, { method: "POST", body });
    else {
      const { week, ...rest } = body;
      saved = await api(res.put ? res.put(row.id) : `${res.path}/${row.id}`, { method: "PUT", body: state.tab === "staff" ? rest : body });
      if (state.tab === "staff") saved = await api(`${res.path}/${row.id}/week`, { method: "PUT", body: { week } });
    }
    const shown = saved.device ? saved.device : saved;
    state.selected = shown.id;
    toast(t("admin.saved"));
    await renderResource(document.getElementById("panel"));  // the lists of choices with it
    if (saved.secret) showSecret(saved);
  } catch (exc) {
    error.textContent = explain(exc);
    const name = exc.detail?.field;
    const bad = name && (form.elements[name] || form.querySelector(`[name=${name}]`));
    if (bad && bad.setAttribute) { bad.setAttribute("aria-invalid", "true"); bad.focus?.(); }
  }
}

function showSecret(issued) {
  document.getElementById("secret").replaceChildren(el("div", { class: "secret", "data-testid": "device-secret" },
    el("p", {}, t(issued.broker_reloaded ? "admin.secret_once" : "admin.secret_once_reload")),
    el("p", {}, t("field.username"), ": ", el("code", { "data-testid": "secret-username" }, issued.username)),
    el("p", {}, t("admin.secret"), ": ", el("code", { "data-testid": "secret-value" }, issued.secret))));
}

async function rotate(id) {
  try { showSecret(await api(`/api/admin/devices/${id}/rotate`, { method: "POST" })); } catch (exc) { toast(explain(exc), true); }
}

async function setActive(row, active) {
  const res = RESOURCES[state.tab];
  try {
    await api(`${res.path}/${row.id}/${active ? "activate" : "deactivate"}`, { method: "POST" });
    await renderResource(document.getElementById("panel"));
  } catch (exc) { toast(explain(exc), true); }
}

// A resident's contacts (calling order, channels, quiet hours), devices and linked family accounts.
function residentParts(resident) {
  const contacts = resident.contacts.filter((c) => c.active);
  return [
    el("div", { class: "card sub", "data-testid": "contacts" }, el("h3", {}, t("admin.contacts")),
      contacts.map((c, i) => el("div", { class: "contact" }, el("div", { class: "head" },
        el("span", {}, `${i + 1}.`), el("strong", {}, `${c.name} · ${t("relation." + c.relation)} · ${c.phone || "—"}`),
        i > 0 && el("button", { type: "button", class: "small", "aria-label": t("admin.move_up"), onclick: () => moveContact(c.id, i, resident.id) }, "↑"),
        el("button", { type: "button", class: "small", onclick: () => contactForm(resident.id, c) }, t("admin.edit")),
        el("button", { type: "button", class: "small", onclick: () => dropContact(c.id, resident.id) }, t("admin.deactivate"))),
        el("div", {}, c.channels.map((ch) => `${t("channel." + ch.kind)}: ${ch.target}`).join(" · ") || t("admin.no_channels")),
        c.quiet_start && el("div", {}, t("admin.quiet", { from: c.quiet_start.slice(0, 5), to: c.quiet_end.slice(0, 5) })))),
      el("button", { type: "button", "data-testid": "add-contact", onclick: () => contactForm(resident.id, null) }, t("admin.add_contact")),
      el("div", { id: "contact-form" })),
    el("div", { class: "card sub" }, el("h3", {}, t("admin.tab.devices")), resident.devices.join(", ") || "—"),
    el("div", { class: "card sub" }, el("h3", {}, t("admin.family")),
      resident.family.map((f) => `${f.display_name} (${f.username})`).join(", ") || t("admin.family_none")),
  ];
}

function contactForm(residentId, contact) {
  const c = contact || { name: "", relation: "family", phone: "", language: "zh", quiet_start: null, quiet_end: null, min_severity: 1, channels: [] };
  const error = el("p", { class: "form-error", role: "alert", "data-testid": "contact-error" });
  const channels = [0, 1, 2].map((n) => el("div", { class: "rowline" },
    el("select", { name: `kind${n}`, "aria-label": t("field.kind") }, ["", ...state.choices.channel_kinds].map((k) =>
      el("option", { value: k, selected: (c.channels[n]?.kind || "") === k }, k ? t("channel." + k) : "—"))),
    el("input", { name: `target${n}`, value: c.channels[n]?.target || "", "aria-label": t("field.target") })));
  const form = el("form", { class: "fields", novalidate: true, "data-testid": "contact-form", onsubmit: async (e) => {
    e.preventDefault();
    const v = (n) => form.elements[n].value.trim() || null;
    const body = { name: v("name") || "", relation: v("relation"), phone: v("phone"), language: v("language"),
      quiet_start: v("quiet_start"), quiet_end: v("quiet_end"), min_severity: Number(v("min_severity")),
      channels: [0, 1, 2].filter((n) => v(`kind${n}`)).map((n) => ({ kind: v(`kind${n}`), target: v(`target${n}`) || "" })) };
    try {
      if (contact) await api(`/api/admin/contacts/${contact.id}`, { method: "PUT", body });
      else await api(`/api/admin/residents/${residentId}/contacts`, { method: "POST", body });
      toast(t("admin.saved"));
      await drawForm(document.getElementById("form"));
    } catch (exc) { error.textContent = explain(exc); }
  } },
  el("label", {}, t("field.name"), el("input", { name: "name", value: c.name })),
  el("label", {}, t("field.relation"), el("select", { name: "relation" }, state.choices.relations.map((r) => el("option", { value: r, selected: r === c.relation }, t("relation." + r))))),
  el("label", {}, t("field.phone"), el("input", { name: "phone", value: c.phone || "" })),
  el("label", {}, t("field.language"), el("select", { name: "language" }, ["zh", "en"].map((l) => el("option", { value: l, selected: l === c.language }, l === "zh" ? "中文" : "English")))),
  el("label", {}, t("field.quiet_start"), el("input", { type: "time", name: "quiet_start", value: c.quiet_start?.slice(0, 5) || "" })),
  el("label", {}, t("field.quiet_end"), el("input", { type: "time", name: "quiet_end", value: c.quiet_end?.slice(0, 5) || "" })),
  el("label", {}, t("field.min_severity"), el("select", { name: "min_severity" }, [1, 2, 3, 4].map((s) => el("option", { value: s, selected: s === c.min_severity }, t("severity." + SEVERITIES[s - 1]))))),
  el("label", { class: "wide" }, t("field.channels"), ...channels),
  el("div", { class: "form-actions wide" }, el("button", { type: "submit", class: "primary", "data-testid": "save-contact" }, t("admin.save"))), error);
  document.getElementById("contact-form").replaceChildren(form);
}

async function moveContact(id, index, residentId) {
  try { await api(`/api/admin/contacts/${id}/position`, { method: "PUT", body: { position: index } }); await drawForm(document.getElementById("form")); }
  catch (exc) { toast(explain(exc), true); }
  void residentId;
}

async function dropContact(id) {
  try { await api(`/api/admin/contacts/${id}/deactivate`, { method: "POST" }); await drawForm(document.getElementById("form")); }
  catch (exc) { toast(explain(exc), true); }
}

// The audit log: who, what, when, which resident.
function renderAudit(panel) {
  const filters = el("form", { class: "card audit-filters", "data-testid": "audit-filters", onsubmit: (e) => { e.preventDefault(); loadAudit(filters, table); } },
    ...["username", "action", "object_type", "resident_id"].map((n) => el("label", {}, t("field." + n), el("input", { name: n }))),
    el("label", {}, t("field.since"), el("input", { name: "since", type: "datetime-local" })),
    el("label", {}, t("field.until"), el("input", { name: "until", type: "datetime-local" })),
    el("button", { type: "submit", class: "primary", "data-testid": "audit-search" }, t("admin.search")));
  const table = el("div", { class: "card audit", "data-testid": "audit" });
  panel.replaceChildren(filters, table);
  loadAudit(filters, table);
}

async function loadAudit(filters, table) {
  const query = new URLSearchParams();
  for (const n of ["username", "action", "object_type", "resident_id"]) if (filters.elements[n].value.trim()) query.set(n, filters.elements[n].value.trim());
  for (const n of ["since", "until"]) if (filters.elements[n].value) query.set(n, new Date(filters.elements[n].value).toISOString());
  try {
    const rows = await api(`/api/admin/audit?${query}`);
    table.replaceChildren(el("table", {}, el("thead", {}, el("tr", {}, ["at", "username", "action", "object_type", "object_id", "resident_id", "detail"].map((h) => el("th", {}, t("field." + h))))),
      el("tbody", {}, rows.map((r) => el("tr", { "data-testid": "audit-row" }, el("td", {}, fmtTime(r.at, true)), el("td", {}, r.username || "—"),
        el("td", {}, t("audit_action." + r.action) === "audit_action." + r.action ? r.action : t("audit_action." + r.action)),
        el("td", {}, r.object_type), el("td", {}, r.object_id || "—"), el("td", {}, r.resident_id || "—"),
        el("td", {}, r.detail ? Object.keys(r.detail).map((k) => `${k}: ${JSON.stringify(r.detail[k])}`).join("; ") : ""))))));
  } catch (exc) { table.replaceChildren(el("p", { class: "form-error", role: "alert" }, explain(exc))); }
}

start();
