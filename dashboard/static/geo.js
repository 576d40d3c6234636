// Coordinates for the map's tiles. Everything the platform stores is WGS-84 (what GPS reports); tiles
// published in China (AutoNavi/高德 and others) are drawn in GCJ-02, the state-mandated obfuscated
// datum, so a WGS-84 point drawn on them sits a few hundred metres off. When the tile source says its
// CRS is "gcj02" the map converts every point it draws; the data itself is never converted.
//
// The conversion is the widely published forward GCJ-02 algorithm (Krasovsky 1940 ellipsoid and the
// offset polynomials, as in eviltransform and coordtransform). Outside China GCJ-02 equals WGS-84: the
// usual rough bounding box (lon 72.004–137.8347, lat 0.8293–55.8271) decides, as those libraries do.

const A = 6378245.0; // Krasovsky 1940 semi-major axis, metres
const EE = 0.006693421622965943; // its first eccentricity squared

export function outOfChina(lat, lon) {
  return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
}

function offsetLat(x, y) {
  let r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  r += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  r += ((20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin((y / 3.0) * Math.PI)) * 2.0) / 3.0;
  r += ((160.0 * Math.sin((y / 12.0) * Math.PI) + 320 * Math.sin((y * Math.PI) / 30.0)) * 2.0) / 3.0;
  return r;
}

function offsetLon(x, y) {
  let r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  r += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  r += ((20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin((x / 3.0) * Math.PI)) * 2.0) / 3.0;
  r += ((150.0 * Math.sin((x / 12.0) * Math.PI) + 300.0 * Math.sin((x / 30.0) * Math.PI)) * 2.0) / 3.0;
  return r;
}

// Return [lat, lon] in GCJ-02 for a WGS-84 point (unchanged outside China).
export function wgs84ToGcj02(lat, lon) {
  if (outOfChina(lat, lon)) return [lat, lon];
  const radLat = (lat / 180.0) * Math.PI;
  const magic = 1 - EE * Math.sin(radLat) ** 2;
  const sqrtMagic = Math.sqrt(magic);
  const dLat = (offsetLat(lon - 105.0, lat - 35.0) * 180.0) / (((A * (1 - EE)) / (magic * sqrtMagic)) * Math.PI);
  const dLon = (offsetLon(lon - 105.0, lat - 35.0) * 180.0) / ((A / sqrtMagic) * Math.cos(radLat) * Math.PI);
  return [lat + dLat, lon + dLon];
}

const PROJECTIONS = {
  wgs84: (lat, lon) => [lat, lon],
  gcj02: wgs84ToGcj02,
};

// Return the function that turns a stored (WGS-84) point into the tile source's coordinates.
export function toTiles(crs) {
  const project = PROJECTIONS[crs];
  if (!project) throw new Error(`unknown tile CRS ${crs}`);
  return project;
}
