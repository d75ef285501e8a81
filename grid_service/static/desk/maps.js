// The workbench's maps: Leaflet from the service, the tile layer only when one is configured (else
// the grid's own outlines are the map), opened over the grid's extent.
import { desk } from "/desk/static/desk.js";

export function baseMap(container, options = {}) {
  const map = L.map(container, { attributionControl: false, ...options });
  if (desk.settings.tile_url) L.tileLayer(desk.settings.tile_url, { maxZoom: 19 }).addTo(map);
  return map;
}

export function showGrid(map) {
  const b = desk.settings.bounds;
  if (b) map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
  else map.setView([0, 0], 2);
}
