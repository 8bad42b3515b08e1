-- The audit log becomes insert-only on the request path (ADR 0003).
--
-- Business transactions append the event's canonical bytes to `audit_pending` (a heap row and one
-- primary-key entry). The sequencer moves pending events, in batches and in id order, into
-- `audit_events` together with their log index, leaf hash and the searchable columns it derives from
-- the same bytes it hashes. Before, every event was inserted into audit_events (a plpgsql trigger
-- and seven indexes on the request path) and then UPDATEd by the sequencer (a second row version
-- and every index again): about 0.6 ms of PostgreSQL CPU per audited read.
--
-- audit_events is append-only: UPDATE, DELETE and TRUNCATE are refused by a statement trigger. The
-- Merkle log, not the trigger, is the tamper evidence: whoever can disable the trigger is caught by
-- `mamori audit verify`.

CREATE TABLE audit_pending (
  id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  payload  text NOT NULL
);

-- Pending ids continue the event ids: an event keeps its id when it is integrated.
SELECT setval(pg_get_serial_sequence('audit_pending', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM audit_events), false);

INSERT INTO audit_pending (id, payload) OVERRIDING SYSTEM VALUE
  SELECT id, payload FROM audit_events WHERE log_index IS NULL ORDER BY id;
DELETE FROM audit_events WHERE log_index IS NULL;

DROP TRIGGER audit_events_derive ON audit_events;
DROP FUNCTION mamori_audit_events_derive();
DROP INDEX audit_events_pending_idx;
DROP INDEX audit_events_log_index_idx;

ALTER TABLE audit_events ALTER COLUMN id DROP IDENTITY;
ALTER TABLE audit_events ALTER COLUMN log_index SET NOT NULL, ALTER COLUMN leaf_hash SET NOT NULL;

CREATE FUNCTION mamori_audit_events_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_events_immutable
  BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION mamori_audit_events_immutable();
