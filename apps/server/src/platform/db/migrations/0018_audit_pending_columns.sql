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

-- Tree nodes in rows of 32 (ADR 0010, 2026-11-26 amendment). Every completed perfect subtree was one
-- row of audit_tree_nodes (level, idx, hash): about one row and one primary-key entry per integrated
-- event (n/2 + n/4 + …), ~4 µs of PostgreSQL CPU per event plus their WAL and vacuum. Now a row holds
-- the hashes of up to 32 consecutive nodes of one level: nodes (level, 32·tile … 32·tile + n − 1),
-- 32 bytes each in `hashes`. The sequencer appends to a level's last row while it is not full; proofs
-- and verification read single nodes and level-1 runs out of these rows. Same nodes, same hashes.
CREATE TABLE audit_tree_tiles (
  level   smallint NOT NULL CHECK (level >= 1),
  tile    bigint NOT NULL CHECK (tile >= 0),
  hashes  bytea NOT NULL CHECK (length(hashes) BETWEEN 32 AND 1024 AND length(hashes) % 32 = 0),
  PRIMARY KEY (level, tile)
);
-- The hashes are random: no compression to try.
ALTER TABLE audit_tree_tiles ALTER COLUMN hashes SET STORAGE EXTERNAL;

INSERT INTO audit_tree_tiles (level, tile, hashes)
  SELECT level, idx / 32, string_agg(hash, ''::bytea ORDER BY idx) FROM audit_tree_nodes GROUP BY level, idx / 32;
DROP TABLE audit_tree_nodes;
