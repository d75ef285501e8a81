-- How a closed case was closed (SPEC §10): `handled` by its department and checked, or
-- `self_handled` — an inspector fixed a small problem on the spot (自处置) and reported it with a
-- before and an after photo; such a case is created closed and counts for no department.
ALTER TABLE cases ADD COLUMN resolution text;
ALTER TABLE cases ADD CONSTRAINT cases_resolution_known
    CHECK (resolution IN ('handled', 'self_handled')) NOT VALID;
