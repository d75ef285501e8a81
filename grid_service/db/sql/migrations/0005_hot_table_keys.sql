-- Reports and events are written in the same statement as the case they belong to (intake_batch)
-- or under its row lock (case actions), so their foreign keys to cases checked nothing that could
-- fail, yet each cost a row lock and an index probe per written row at the end of every intake
-- statement (about a sixth of a batch's database time). Instead, as with configuration rows,
-- cases and reports are never deleted: the database refuses it.
ALTER TABLE reports DROP CONSTRAINT reports_case_id_fkey;
ALTER TABLE events DROP CONSTRAINT events_case_id_fkey;
CREATE TRIGGER cases_keep BEFORE DELETE ON cases FOR EACH ROW EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER reports_keep BEFORE DELETE ON reports FOR EACH ROW EXECUTE FUNCTION refuse_delete();
