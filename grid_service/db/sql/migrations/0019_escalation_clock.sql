-- Each rung of the escalation ladder counts its hours on its own clock (SPEC §11): natural, as
-- before, or working hours on the city's calendar.
ALTER TABLE escalation_levels ADD COLUMN clock text NOT NULL DEFAULT 'natural' CHECK (clock IN ('natural', 'working'));

-- A category may set the sign-for limit (签收) of its dispatches; NULL: disputes.toml's.
ALTER TABLE categories ADD COLUMN acceptance_hours numeric CHECK (acceptance_hours > 0);
