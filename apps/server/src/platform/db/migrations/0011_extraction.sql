-- Controlled extraction (H6), opt-out suppression (L4), provision records (APPI Art. 29) and leak
-- tracing (T8). Nothing here holds personal data in clear: filters on personal fields are stored as
-- blind indexes, suppression entries and canary marks as keyed hashes, the export file encrypted.

CREATE TABLE extractions (
  id                      uuid PRIMARY KEY,
  dataset_id              uuid NOT NULL REFERENCES datasets (id),
  requester_id            uuid NOT NULL REFERENCES users (id),
  approval_request_id     uuid REFERENCES approval_requests (id),
  state                   text NOT NULL CHECK (state IN ('pending_approval', 'running', 'ready', 'downloaded', 'failed', 'rejected', 'expired', 'cancelled')),
  purpose                 text NOT NULL,
  fields                  text[] NOT NULL,
  format                  text NOT NULL CHECK (format IN ('csv_utf8', 'csv_sjis', 'xlsx')),
  -- [{field, op, term (hex blind index or normalised prefix), shown (masked for personal fields)}]
  filter                  jsonb NOT NULL,
  recipient_kind          text NOT NULL CHECK (recipient_kind IN ('internal', 'third_party')),
  recipient_name          text,
  recipient_address       text,
  recipient_representative text,
  rows_total              integer NOT NULL,
  rows_done               integer NOT NULL DEFAULT 0,
  suppressed              integer NOT NULL DEFAULT 0,
  -- The per-export keys (file key, fingerprint key), wrapped under the master keyring.
  master_key_id           text,
  wrapped_key             bytea,
  file_name               text,
  file_bytes              bigint,
  sha256                  bytea,
  created_at              timestamptz NOT NULL,
  started_at              timestamptz,
  completed_at            timestamptz,
  download_until          timestamptz,
  downloaded_at           timestamptz,
  error                   text,
  CHECK (recipient_kind = 'internal' OR (recipient_name IS NOT NULL AND recipient_address IS NOT NULL AND recipient_representative IS NOT NULL))
);
CREATE INDEX extractions_requester_idx ON extractions (requester_id, created_at DESC);
CREATE INDEX extractions_state_idx ON extractions (state) WHERE state IN ('pending_approval', 'running');

-- Synthetic canary rows unique to one export: their keyed hashes (per distinctive value) and row position.
CREATE TABLE extraction_canaries (
  extraction_id  uuid NOT NULL REFERENCES extractions (id),
  position       integer NOT NULL,
  mark           bytea NOT NULL,
  PRIMARY KEY (mark, extraction_id, position)
);
CREATE INDEX extraction_canaries_export_idx ON extraction_canaries (extraction_id);

-- Opt-out of third-party provision: one entry, one blind index per matching exact-search field.
CREATE TABLE suppression_entries (
  id          uuid PRIMARY KEY,
  dataset_id  uuid NOT NULL REFERENCES datasets (id),
  kind        text NOT NULL CHECK (kind IN ('email', 'phone', 'name')),
  hint        text NOT NULL,
  note        text NOT NULL,
  added_by    uuid NOT NULL REFERENCES users (id),
  added_at    timestamptz NOT NULL,
  removed_by  uuid REFERENCES users (id),
  removed_at  timestamptz,
  removed_reason text
);
CREATE TABLE suppression_terms (
  entry_id    uuid NOT NULL REFERENCES suppression_entries (id),
  dataset_id  uuid NOT NULL,
  field       text NOT NULL,
  term        bytea NOT NULL,
  PRIMARY KEY (dataset_id, field, term, entry_id)
);

-- APPI Art. 29 record of provision to a third party, written with the export's completion.
CREATE TABLE provision_records (
  id                        uuid PRIMARY KEY,
  extraction_id             uuid NOT NULL UNIQUE REFERENCES extractions (id),
  dataset_id                uuid NOT NULL REFERENCES datasets (id),
  provided_at               timestamptz NOT NULL,
  recipient_name            text NOT NULL,
  recipient_address         text NOT NULL,
  recipient_representative  text NOT NULL,
  data_items                text[] NOT NULL,
  record_count              integer NOT NULL,
  retain_until              timestamptz NOT NULL
);
CREATE TABLE provision_subjects (
  provision_id  uuid NOT NULL REFERENCES provision_records (id),
  record_id     uuid NOT NULL,
  PRIMARY KEY (record_id, provision_id)
);
