-- Welfare visits, run every hour: the trend check runs at most once per resident and local day (the
-- day of its last run is kept here, and claimed by the run that moves it on), and each planned visit
-- is assigned to a staff member of the resident's station, the one with the fewest open visits.

CREATE TABLE IF NOT EXISTS visit_trend_checks (
    resident_id  text PRIMARY KEY REFERENCES residents (id) ON DELETE CASCADE,
    checked_on   date NOT NULL,            -- the resident's local day of the last check
    checked_at   timestamptz NOT NULL
);

-- A staff member's open visits: their page lists them, the planner counts them to share the load.
CREATE INDEX IF NOT EXISTS visits_staff_open ON visits (staff_id, due_at) WHERE status = 'planned';
-- The supervisor's list of visits done lately.
CREATE INDEX IF NOT EXISTS visits_done ON visits (done_at DESC) WHERE status = 'done';
