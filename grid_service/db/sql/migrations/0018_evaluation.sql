-- The assessment's formulas and composite scores (evaluation.toml, SPEC §12) as validated.
ALTER TABLE config_state ADD COLUMN evaluation jsonb NOT NULL DEFAULT '{}';
