// The map on Leaflet (from npm): residents, stations and staff as vector markers, so they show even
// when the tile source is unreachable (offline). The tile URL, its attribution, its CRS and the map
// centre come from the settings (/api/config). Stored positions and the configured centre are WGS-84;
// every point drawn goes through `project`, which converts to GCJ-02 when the tiles are drawn in it.
import * as L from "/vendor/leaflet/leaflet-src.esm.js";
import { config } from "./common.js";
import { toTiles } from "./geo.js";

export function makeMap(node) {
  const cfg = config();
  const project = toTiles(cfg.tile_crs || "wgs84");
  const map = L.map(node, { zoomControl: true, attributionControl: Boolean(cfg.tile_attribution) });
  if (cfg.tile_attribution) map.attributionControl.setPrefix(false);
  map.setView(project(...cfg.map_center), 13);
  const tiles = L.tileLayer(cfg.tile_url, {
    subdomains: cfg.tile_subdomains, maxZoom: 18, attribution: cfg.tile_attribution || "",
  });
  tiles.on("tileerror", () => node.classList.add("no-tiles"));
  tiles.addTo(map);
  const layers = { residents: L.layerGroup().addTo(map), stations: L.layerGroup().addTo(map),
                   staff: L.layerGroup().addTo(map), alert: L.layerGroup().addTo(map) };
  return { map, layers, project };
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
  return markers;
}

export function focus(view, lat, lon) {
  if (known(lat) && known(lon)) view.map.setView(view.project(lat, lon), 15);
}
