// The map on Leaflet (from npm): residents, stations and staff as vector markers, so they show even
// when the tile source is unreachable (offline); the tile URL comes from the settings.
import * as L from "/vendor/leaflet/leaflet-src.esm.js";
import { config } from "./common.js";

export function makeMap(node) {
  const cfg = config();
  const map = L.map(node, { zoomControl: true, attributionControl: false }).setView(cfg.map_center, 13);
  const tiles = L.tileLayer(cfg.tile_url, { subdomains: cfg.tile_subdomains, maxZoom: 18 });
  tiles.on("tileerror", () => node.classList.add("no-tiles"));
  tiles.addTo(map);
  const layers = { residents: L.layerGroup().addTo(map), stations: L.layerGroup().addTo(map),
                   staff: L.layerGroup().addTo(map), alert: L.layerGroup().addTo(map) };
  return { map, layers };
}

const STYLE = {
  resident: { radius: 6, color: "#2563eb", fillOpacity: 0.7 },
  station: { radius: 9, color: "#15803d", fillOpacity: 0.9 },
  staff: { radius: 6, color: "#ea580c", fillOpacity: 0.9 },
  alert: { radius: 12, color: "#dc2626", fillOpacity: 0.5, weight: 3 },
};

export function placeMarkers(view, group, kind, items) {
  view.layers[group].clearLayers();
  const markers = [];
  for (const item of items) {
    if (item.lat === null || item.lat === undefined || item.lon === null || item.lon === undefined) continue;
    const marker = L.circleMarker([item.lat, item.lon], STYLE[kind]).bindTooltip(item.label);
    marker.addTo(view.layers[group]);
    markers.push(marker);
  }
  return markers;
}

export function focus(view, lat, lon) {
  if (lat !== null && lat !== undefined) view.map.setView([lat, lon], 15);
}
