-- The searchable audit columns were generated columns, each parsing the payload again (six JSON
-- parses per event, and helper functions PostgreSQL cannot inline). A trigger now parses the payload
-- once and fills plain columns. It fires on INSERT and on any UPDATE that names the payload or one of
-- these columns, so a column can still never say something the hashed payload does not; the
-- sequencer's updates (log_index, leaf_hash) do not fire it.

ALTER TABLE audit_events
  DROP COLUMN at,
  DROP COLUMN actor_user_id,
  DROP COLUMN action,
  DROP COLUMN dataset_id,
  DROP COLUMN record_ids,
  DROP COLUMN decision;

DROP FUNCTION mamori_json_uuid_array(jsonb);
DROP FUNCTION mamori_json_text_array(jsonb);
DROP FUNCTION mamori_json_ts(text);

ALTER TABLE audit_events
  ADD COLUMN at timestamptz,
  ADD COLUMN actor_user_id uuid,
  ADD COLUMN action text,
  ADD COLUMN dataset_id uuid,
  ADD COLUMN record_ids uuid[],
  ADD COLUMN decision text;

CREATE FUNCTION mamori_audit_events_derive() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  j jsonb := NEW.payload::jsonb;
BEGIN
  NEW.at := (j ->> 'at')::timestamptz;
  NEW.actor_user_id := (j -> 'actor' ->> 'user')::uuid;
  NEW.action := j ->> 'action';
  NEW.dataset_id := (j ->> 'dataset')::uuid;
  NEW.record_ids := CASE WHEN jsonb_typeof(j -> 'records') = 'array'
    THEN ARRAY(SELECT jsonb_array_elements_text(j -> 'records'))::uuid[] ELSE '{}'::uuid[] END;
  NEW.decision := j ->> 'decision';
  RETURN NEW;
END $$;

CREATE TRIGGER audit_events_derive
  BEFORE INSERT OR UPDATE OF payload, at, actor_user_id, action, dataset_id, record_ids, decision ON audit_events
  FOR EACH ROW EXECUTE FUNCTION mamori_audit_events_derive();

-- Fill the new columns of existing events (fires the trigger).
UPDATE audit_events SET payload = payload;

ALTER TABLE audit_events ALTER COLUMN at SET NOT NULL, ALTER COLUMN action SET NOT NULL,
  ALTER COLUMN decision SET NOT NULL, ALTER COLUMN record_ids SET NOT NULL;

CREATE INDEX audit_events_actor_idx ON audit_events (actor_user_id, id);
CREATE INDEX audit_events_dataset_idx ON audit_events (dataset_id, id);
CREATE INDEX audit_events_action_idx ON audit_events (action, id);
CREATE INDEX audit_events_at_idx ON audit_events (at);
CREATE INDEX audit_events_records_idx ON audit_events USING gin (record_ids);
