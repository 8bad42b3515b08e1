-- SCIM 2.0 provisioning and the identity lifecycle (joiners, movers, leavers).
-- SCIM clients act through a service user of their own; their bearer tokens live apart from API
-- tokens, so a SCIM token is unknown on /api and an API token unknown on /scim.

ALTER TABLE users
  ADD COLUMN external_id      text,
  ADD COLUMN employee_number  text,
  -- The IdP's userType as sent (the employment type is derived from it by the configured mapping).
  ADD COLUMN user_type        text,
  ADD COLUMN given_name       text,
  ADD COLUMN family_name      text,
  ADD COLUMN title            text,
  -- A retirement date sent by HR: the retirement job retires the user when it is reached.
  ADD COLUMN retire_at        timestamptz,
  -- DELETE through SCIM: the user is retired and no longer a SCIM resource (rows stay for the audit trail).
  ADD COLUMN scim_deleted_at  timestamptz;
CREATE UNIQUE INDEX users_external_id_idx ON users (external_id) WHERE external_id IS NOT NULL AND scim_deleted_at IS NULL;
CREATE INDEX users_retire_at_idx ON users (retire_at) WHERE retire_at IS NOT NULL AND status <> 'retired';

ALTER TABLE groups
  ADD COLUMN external_id  text,
  ADD COLUMN updated_at   timestamptz,
  ADD COLUMN version      integer NOT NULL DEFAULT 1;

-- Why a grant is suspended (mover, dispatch, leaver): shown to the data owner who re-approves it.
ALTER TABLE grants
  ADD COLUMN suspended_at      timestamptz,
  ADD COLUMN suspended_reason  text;

CREATE TABLE scim_clients (
  id               uuid PRIMARY KEY,
  name             text NOT NULL UNIQUE,
  service_user_id  uuid NOT NULL REFERENCES users (id),
  created_at       timestamptz NOT NULL,
  created_by       uuid REFERENCES users (id),
  revoked_at       timestamptz
);

CREATE TABLE scim_tokens (
  id            uuid PRIMARY KEY,
  client_id     uuid NOT NULL REFERENCES scim_clients (id),
  token_hash    bytea NOT NULL UNIQUE,
  created_at    timestamptz NOT NULL,
  created_by    uuid REFERENCES users (id),
  revoked_at    timestamptz,
  last_used_at  timestamptz
);
CREATE INDEX scim_tokens_client_idx ON scim_tokens (client_id);

-- Events for systems outside Mamori (door controllers), written in the transaction of the change.
-- Stand-in for the outbox (modules/outbox lands from another branch): one function writes these rows.
CREATE TABLE identity_events (
  id             uuid PRIMARY KEY,
  kind           text NOT NULL CHECK (kind IN ('door.revoke')),
  user_id        uuid NOT NULL REFERENCES users (id),
  payload        jsonb NOT NULL,
  created_at     timestamptz NOT NULL,
  dispatched_at  timestamptz
);
CREATE INDEX identity_events_pending_idx ON identity_events (created_at) WHERE dispatched_at IS NULL;
