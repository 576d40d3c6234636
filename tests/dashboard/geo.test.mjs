// node --test of dashboard/static/geo.js, run by tests/dashboard/test_geo.py: the cases (WGS-84 in, the
// expected tile coordinates out) come from the pytest side in ANXIN_GEO_CASES as JSON,
// each with its tolerance in degrees.
import assert from "node:assert/strict";
import { test } from "node:test";

import { outOfChina, toTiles, wgs84ToGcj02 } from "../../dashboard/static/geo.js";

const cases = JSON.parse(process.env.ANXIN_GEO_CASES);

test("wgs84ToGcj02 meets every reference point", () => {
  for (const { name, wgs, gcj, tolerance } of cases) {
    const [lat, lon] = wgs84ToGcj02(...wgs);
    assert.ok(Math.abs(lat - gcj[0]) <= tolerance && Math.abs(lon - gcj[1]) <= tolerance,
      `${name}: got ${lat}, ${lon}, want ${gcj}`);
  }
});

test("outside China the point is not moved", () => {
  assert.equal(outOfChina(51.5007, -0.1246), true);
  assert.deepEqual(wgs84ToGcj02(51.5007, -0.1246), [51.5007, -0.1246]);
  assert.equal(outOfChina(39.90872, 116.39748), false);
});

test("toTiles picks the conversion of the tile CRS", () => {
  assert.deepEqual(toTiles("wgs84")(39.90872, 116.39748), [39.90872, 116.39748]);
  assert.deepEqual(toTiles("gcj02")(39.90872, 116.39748), wgs84ToGcj02(39.90872, 116.39748));
  assert.throws(() => toTiles("bd09"));
});
