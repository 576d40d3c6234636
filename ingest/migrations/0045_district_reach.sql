-- A district's reach: which district a resident belongs to (one definition, used by every list, object
-- check, live filter, figure and report), desk users bound to a district, and the read-only city role.

-- A resident's station is the one the roster names, else the station nearest their home (great-circle
-- order, the haversine term as `dispatch.places.great_circle_km`, ties by id); their district is that
-- station's. A resident with neither a station nor a position has none.
CREATE OR REPLACE VIEW resident_districts AS
SELECT r.id AS resident_id, st.id AS station_id, st.name AS station_name, st.district_id, dd.name AS district
FROM residents r
LEFT JOIN LATERAL (
    SELECT n.id FROM stations n
    WHERE r.station_id IS NULL AND r.lat IS NOT NULL
    ORDER BY sin(radians(n.lat - r.lat) / 2) ^ 2
             + cos(radians(r.lat)) * cos(radians(n.lat)) * sin(radians(n.lon - r.lon) / 2) ^ 2, n.id
    LIMIT 1
) nearest ON true
LEFT JOIN stations st ON st.id = coalesce(r.station_id, nearest.id)
LEFT JOIN districts dd ON dd.id = st.district_id;

-- An operator or supervisor with a district reaches only that district; without one, the whole city.
ALTER TABLE users ADD COLUMN IF NOT EXISTS district_id bigint REFERENCES districts (id);

-- 'city' (市级平台): every district's figures and reports, read-only.
ALTER TABLE users DROP CONSTRAINT IF EXISTS users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('admin', 'supervisor', 'operator', 'staff', 'family', 'city'));
