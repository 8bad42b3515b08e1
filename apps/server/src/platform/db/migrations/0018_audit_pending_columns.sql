-- The appender supplies the searchable columns (ADR 0010, 2026-11-26 amendment).
--
-- The sequencer derived at, actor_user_id, action, dataset_id, record_ids and decision from each
-- event's bytes with one jsonb parse: ~8 µs of PostgreSQL CPU per event, the largest single cost of
-- integration after the heap itself. The code that builds an event knows these values already, so
-- it now writes them beside the bytes in audit_pending and the sequencer copies them. A row without
-- them (`at` NULL: rows pending at upgrade, or an appender that only has the bytes) is still derived
-- from its bytes by the sequencer, as before. Verification compares every stored column with the
-- bytes (`column_mismatch`), so a column can still never say something the hashed payload does not
-- without `mamori audit verify` reporting it.
ALTER TABLE audit_pending
  ADD COLUMN at timestamptz,
  ADD COLUMN actor_user_id uuid,
  ADD COLUMN action text,
  ADD COLUMN dataset_id uuid,
  ADD COLUMN record_ids uuid[],
  ADD COLUMN decision text;

-- All supplied or none: `at` NULL is the sequencer's sign to derive them from the bytes.
ALTER TABLE audit_pending ADD CONSTRAINT audit_pending_columns_all_or_none CHECK (
  (at IS NULL AND actor_user_id IS NULL AND action IS NULL AND dataset_id IS NULL AND record_ids IS NULL AND decision IS NULL)
  OR (at IS NOT NULL AND action IS NOT NULL AND record_ids IS NOT NULL AND decision IS NOT NULL));
