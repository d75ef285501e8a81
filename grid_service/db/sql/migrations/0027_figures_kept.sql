-- The figures of a period that has ended, kept once computed: a past period's figures are the same
-- whenever they are asked (SPEC §12), and a month's are asked by everyone who opens its statistics,
-- its charts and its bulletin. Keyed by the statements' version, so that a release that counts
-- differently computes them afresh.
CREATE TABLE figures_kept (
    version     text        NOT NULL,
    start_at    timestamptz NOT NULL,
    end_at      timestamptz NOT NULL,
    group_by    text        NOT NULL,
    adjusted    boolean     NOT NULL,
    figures     jsonb       NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (version, start_at, end_at, group_by, adjusted)
);
