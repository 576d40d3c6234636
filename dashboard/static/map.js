// The map on Leaflet (from npm): residents, stations and staff as vector markers, so they show even
// when the tile source is unreachable (offline). The tile URL, its attribution, its CRS and the map
// centre come from the settings (/api/config). Stored positions and the configured centre are WGS-84;
// every point drawn goes through `project`, which converts to GCJ-02 when the tiles are drawn in it.
//
// The map opens on the data it is given: each time residents or stations are placed, it fits their
// markers (fitBounds), until the operator moves the map or a case is focused; the configured centre
// is where it stays only when there is nothing to show.
import * as L from "/vendor/leaflet/leaflet-src.esm.js";
import { config, t } from "./common.js";
import { toTiles } from "./geo.js";

export function makeMap(node) {
  const cfg = config();
  const project = toTiles(cfg.tile_crs || "wgs84");
  const map = L.map(node, { zoomControl: false, attributionControl: Boolean(cfg.tile_attribution) });
  L.control.zoom({ zoomInTitle: t("map.zoom_in"), zoomOutTitle: t("map.zoom_out") }).addTo(map);  // in the page's language
  if (cfg.tile_attribution) map.attributionControl.setPrefix(false);
  map.setView(project(...cfg.map_center), 13);
  const tiles = L.tileLayer(cfg.tile_url, {
    subdomains: cfg.tile_subdomains, maxZoom: 18, attribution: cfg.tile_attribution || "",
  });
  tiles.on("tileerror", () => node.classList.add("no-tiles"));
  tiles.addTo(map);
  const layers = { residents: L.layerGroup().addTo(map), stations: L.layerGroup().addTo(map),
                   staff: L.layerGroup().addTo(map), alert: L.layerGroup().addTo(map) };
  const view = { map, layers, project, autoFit: true };
  map.on("dragstart", () => { view.autoFit = false; });  // the operator looks elsewhere: leave the map there
  return view;
}

const FIT_GROUPS = ["residents", "stations"];  // what the map opens on

export function fitToData(view) {
  const points = FIT_GROUPS.flatMap((g) => view.layers[g].getLayers().map((m) => m.getLatLng()));
  if (!points.length) return false;
  if (points.length === 1) view.map.setView(points[0], 15, { animate: false });
  else view.map.fitBounds(L.latLngBounds(points), { padding: [24, 24], maxZoom: 16, animate: false });
  return true;
}

const STYLE = {
  resident: { radius: 6, color: "#2563eb", fillOpacity: 0.7 },
  station: { radius: 9, color: "#15803d", fillOpacity: 0.9 },
  staff: { radius: 6, color: "#ea580c", fillOpacity: 0.9 },
  alert: { radius: 12, color: "#dc2626", fillOpacity: 0.5, weight: 3 },
};

const known = (v) => v !== null && v !== undefined;

export function placeMarkers(view, group, kind, items) {
  view.layers[group].clearLayers();
  const markers = [];
  for (const item of items) {
    if (!known(item.lat) || !known(item.lon)) continue;
    const marker = L.circleMarker(view.project(item.lat, item.lon), STYLE[kind]).bindTooltip(item.label);
    marker.addTo(view.layers[group]);
    markers.push(marker);
  }
  if (view.autoFit && FIT_GROUPS.includes(group)) fitToData(view);
  return markers;
}

export function focus(view, lat, lon) {
  if (!known(lat) || !known(lon)) return;
  view.autoFit = false;  // a case is open: its place, not the overview
  view.map.setView(view.project(lat, lon), 15);
}
