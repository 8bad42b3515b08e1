-- Mamori foundation schema: identity, datasets and records, the handler register, the audit log.
-- Migrations are never edited once landed: add a new numbered file instead.

CREATE TABLE organisation (
  id          uuid PRIMARY KEY,
  name        text NOT NULL,
  created_at  timestamptz NOT NULL
);

CREATE TABLE departments (
  id          uuid PRIMARY KEY,
  name        text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL
);

CREATE TABLE users (
  id                        uuid PRIMARY KEY,
  login                     text NOT NULL UNIQUE,
  display_name              text NOT NULL,
  email                     text,
  kind                      text NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'service')),
  employment_type           text NOT NULL CHECK (employment_type IN ('employee', 'dispatch', 'part_time', 'advisor', 'contractor')),
  department_id             uuid REFERENCES departments (id),
  supervisor_id             uuid REFERENCES users (id),
  status                    text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'retired')),
  status_changed_at         timestamptz,
  password_hash             text,
  password_change_required  boolean NOT NULL DEFAULT false,
  totp_secret_sealed        bytea,
  totp_enrolled_at          timestamptz,
  totp_last_step            integer,
  failed_logins             integer NOT NULL DEFAULT 0,
  locked_until              timestamptz,
  created_at                timestamptz NOT NULL,
  updated_at                timestamptz NOT NULL,
  version                   integer NOT NULL DEFAULT 1
);
CREATE INDEX users_department_idx ON users (department_id);
CREATE INDEX users_supervisor_idx ON users (supervisor_id);

CREATE TABLE user_roles (
  user_id     uuid NOT NULL REFERENCES users (id),
  role        text NOT NULL CHECK (role IN ('administrator', 'cpo', 'auditor', 'security_center', 'data_owner', 'handler', 'transmission_approver', 'cio', 'hr')),
  granted_at  timestamptz NOT NULL,
  PRIMARY KEY (user_id, role)
);

CREATE TABLE groups (
  id          uuid PRIMARY KEY,
  name        text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL
);

CREATE TABLE group_members (
  group_id    uuid NOT NULL REFERENCES groups (id),
  user_id     uuid NOT NULL REFERENCES users (id),
  PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user_idx ON group_members (user_id);

-- Server-side sessions. The cookie carries a random token; only its SHA-256 is stored.
CREATE TABLE sessions (
  id              bytea PRIMARY KEY,
  user_id         uuid NOT NULL REFERENCES users (id),
  csrf_token      text NOT NULL,
  created_at      timestamptz NOT NULL,
  last_seen_at    timestamptz NOT NULL,
  expires_at      timestamptz NOT NULL,
  mfa_at          timestamptz,
  ip              text,
  user_agent      text,
  terminal_id     text,
  revoked_at      timestamptz,
  revoked_reason  text
);
CREATE INDEX sessions_user_idx ON sessions (user_id) WHERE revoked_at IS NULL;

CREATE TABLE api_tokens (
  id            uuid PRIMARY KEY,
  user_id       uuid NOT NULL REFERENCES users (id),
  name          text NOT NULL,
  token_hash    bytea NOT NULL UNIQUE,
  created_at    timestamptz NOT NULL,
  created_by    uuid REFERENCES users (id),
  expires_at    timestamptz,
  revoked_at    timestamptz,
  last_used_at  timestamptz
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id) WHERE revoked_at IS NULL;

CREATE TABLE datasets (
  id             uuid PRIMARY KEY,
  name           text NOT NULL UNIQUE,
  label_ja       text NOT NULL,
  label_en       text NOT NULL,
  description    text NOT NULL DEFAULT '',
  owner_user_id  uuid NOT NULL REFERENCES users (id),
  department_id  uuid REFERENCES departments (id),
  purposes       text[] NOT NULL,
  source         text NOT NULL DEFAULT '',
  storage_location text NOT NULL DEFAULT 'JP',
  vdi_only       boolean NOT NULL DEFAULT false,
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL,
  version        integer NOT NULL DEFAULT 1
);

CREATE TABLE dataset_fields (
  dataset_id      uuid NOT NULL REFERENCES datasets (id),
  name            text NOT NULL,
  position        integer NOT NULL,
  label_ja        text NOT NULL,
  label_en        text NOT NULL,
  classification  text NOT NULL CHECK (classification IN ('public', 'internal', 'personal', 'confidential', 'special_care')),
  kind            text NOT NULL,
  search          text NOT NULL CHECK (search IN ('none', 'exact', 'prefix')),
  PRIMARY KEY (dataset_id, name)
);

-- Per-dataset data keys (sealing records) and index keys (blind indexes), wrapped by a master key.
CREATE TABLE dataset_keys (
  dataset_id     uuid NOT NULL REFERENCES datasets (id),
  key_id         text NOT NULL,
  purpose        text NOT NULL CHECK (purpose IN ('data', 'index')),
  master_key_id  text NOT NULL,
  wrapped        bytea NOT NULL,
  active         boolean NOT NULL,
  created_at     timestamptz NOT NULL,
  PRIMARY KEY (dataset_id, key_id)
);

-- public: the public and internal fields as JSON; sealed: every personal-level field of the record,
-- as one AES-256-GCM ciphertext under the dataset data key `key_id`.
CREATE TABLE records (
  id          uuid PRIMARY KEY,
  dataset_id  uuid NOT NULL REFERENCES datasets (id),
  public      jsonb NOT NULL,
  sealed      bytea,
  key_id      text,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  version     integer NOT NULL DEFAULT 1
);
CREATE INDEX records_dataset_idx ON records (dataset_id, id);

-- Search terms: blind indexes (16-byte HMAC) for exact search on encrypted fields and normalised
-- UTF-8 bytes for prefix search on public fields. A prefix p matches the range [p, p || 0xff).
CREATE TABLE record_terms (
  dataset_id  uuid NOT NULL,
  field       text NOT NULL,
  term        bytea NOT NULL,
  record_id   uuid NOT NULL
);
CREATE INDEX record_terms_lookup_idx ON record_terms (dataset_id, field, term, record_id);
CREATE INDEX record_terms_record_idx ON record_terms (record_id);

-- The handler register: who may handle which fields of which dataset, for which purposes, until when.
CREATE TABLE grants (
  id              uuid PRIMARY KEY,
  dataset_id      uuid NOT NULL REFERENCES datasets (id),
  subject_type    text NOT NULL CHECK (subject_type IN ('user', 'group')),
  subject_id      uuid NOT NULL,
  fields          text[] NOT NULL,
  unmask_fields   text[] NOT NULL,
  purposes        text[] NOT NULL,
  can_write       boolean NOT NULL DEFAULT false,
  valid_from      timestamptz NOT NULL,
  valid_until     timestamptz NOT NULL,
  status          text NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),
  reason          text NOT NULL DEFAULT '',
  granted_by      uuid NOT NULL REFERENCES users (id),
  created_at      timestamptz NOT NULL,
  revoked_at      timestamptz,
  revoked_by      uuid REFERENCES users (id)
);
CREATE INDEX grants_subject_idx ON grants (subject_id) WHERE status = 'active';
CREATE INDEX grants_dataset_idx ON grants (dataset_id);

-- The audit log. `payload` is the event's canonical bytes (UTF-8 JSON) — the single source of truth;
-- the searchable columns are generated from it, so they cannot disagree with what is hashed.
-- Rows are appended in the business transaction with log_index NULL (pending); the sequencer
-- assigns contiguous log indexes and RFC 6962 leaf hashes.
CREATE FUNCTION mamori_json_uuid_array(j jsonb) RETURNS uuid[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT CASE WHEN jsonb_typeof(j) = 'array' THEN ARRAY(SELECT jsonb_array_elements_text(j))::uuid[] ELSE '{}'::uuid[] END $$;
CREATE FUNCTION mamori_json_text_array(j jsonb) RETURNS text[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT CASE WHEN jsonb_typeof(j) = 'array' THEN ARRAY(SELECT jsonb_array_elements_text(j)) ELSE '{}'::text[] END $$;
CREATE FUNCTION mamori_json_ts(t text) RETURNS timestamptz
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT (t::timestamp AT TIME ZONE 'UTC') $$;

CREATE TABLE audit_events (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  payload        text NOT NULL,
  at             timestamptz GENERATED ALWAYS AS (mamori_json_ts(rtrim((payload::jsonb) ->> 'at', 'Z'))) STORED,
  actor_user_id  uuid GENERATED ALWAYS AS (((payload::jsonb) -> 'actor' ->> 'user')::uuid) STORED,
  action         text GENERATED ALWAYS AS ((payload::jsonb) ->> 'action') STORED,
  dataset_id     uuid GENERATED ALWAYS AS (((payload::jsonb) ->> 'dataset')::uuid) STORED,
  record_ids     uuid[] GENERATED ALWAYS AS (mamori_json_uuid_array((payload::jsonb) -> 'records')) STORED,
  decision       text GENERATED ALWAYS AS ((payload::jsonb) ->> 'decision') STORED,
  log_index      bigint UNIQUE,
  leaf_hash      bytea
);
CREATE INDEX audit_events_pending_idx ON audit_events (id) WHERE log_index IS NULL;
CREATE INDEX audit_events_actor_idx ON audit_events (actor_user_id, id);
CREATE INDEX audit_events_dataset_idx ON audit_events (dataset_id, id);
CREATE INDEX audit_events_action_idx ON audit_events (action, id);
CREATE INDEX audit_events_at_idx ON audit_events (at);
CREATE INDEX audit_events_records_idx ON audit_events USING gin (record_ids);

-- The sequencer's running state: tree size and the compact range (right-edge subtree hashes)
-- from which the RFC 6962 root of any prefix is computed without rereading old leaves.
CREATE TABLE audit_tree_state (
  id          integer PRIMARY KEY CHECK (id = 1),
  tree_size   bigint NOT NULL,
  compact     bytea[] NOT NULL,
  root_hash   bytea NOT NULL,
  updated_at  timestamptz NOT NULL
);
