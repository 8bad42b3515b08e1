-- Sign-in through the company IdP (OpenID Connect), passkeys (WebAuthn) as a second factor, and
-- door-card revocations as outbox events for the door controllers.

-- The IdP's subject (`sub`) of a user, bound at their first SSO login (matched then by the
-- configured claim against the SCIM externalId, or by e-mail when allowed). Later logins match on it.
ALTER TABLE users ADD COLUMN oidc_subject text;
CREATE UNIQUE INDEX users_oidc_subject_idx ON users (oidc_subject) WHERE oidc_subject IS NOT NULL;

-- A sign-in started at the IdP and not yet come back: state, nonce and PKCE verifier, keyed by the
-- SHA-256 of a random cookie value. Single use (deleted when the callback arrives), ten minutes.
CREATE TABLE oidc_flows (
  id             bytea PRIMARY KEY,
  state          text NOT NULL,
  nonce          text NOT NULL,
  code_verifier  text NOT NULL,
  created_at     timestamptz NOT NULL,
  expires_at     timestamptz NOT NULL
);
CREATE INDEX oidc_flows_expires_idx ON oidc_flows (expires_at);

-- Passkeys of local accounts, used as the second factor. The counter is checked on every use
-- (a cloned authenticator shows a counter that does not grow). Removed ones stay for the record.
CREATE TABLE webauthn_credentials (
  id             text PRIMARY KEY,          -- credential id, base64url
  user_id        uuid NOT NULL REFERENCES users (id),
  public_key     bytea NOT NULL,            -- COSE public key
  counter        bigint NOT NULL,
  transports     text[] NOT NULL DEFAULT '{}',
  device_type    text NOT NULL,             -- singleDevice / multiDevice
  backed_up      boolean NOT NULL,
  name           text NOT NULL,
  created_at     timestamptz NOT NULL,
  last_used_at   timestamptz,
  removed_at     timestamptz
);
CREATE INDEX webauthn_credentials_user_idx ON webauthn_credentials (user_id) WHERE removed_at IS NULL;

-- A WebAuthn challenge handed to one session: used once (deleted at verification), five minutes.
CREATE TABLE webauthn_challenges (
  session_id   bytea NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  purpose      text NOT NULL CHECK (purpose IN ('register', 'authenticate')),
  challenge    text NOT NULL,
  expires_at   timestamptz NOT NULL,
  PRIMARY KEY (session_id, purpose)
);

-- Door-card revocations were written to identity_events until the outbox landed; they become
-- outbox rows (kind 'webhook', category 'door'), delivered to the door controllers with retries.
INSERT INTO outbox (id, kind, category, related_id, payload, status, attempts, next_attempt_at, created_at)
SELECT e.id, 'webhook', 'door', e.user_id::text,
       jsonb_build_object('event', jsonb_build_object(
         'id', e.id, 'type', e.kind, 'userId', e.user_id, 'externalId', u.external_id,
         'cause', e.payload ->> 'cause', 'at', to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))),
       CASE WHEN e.dispatched_at IS NULL THEN 'pending' ELSE 'sent' END, 0, e.created_at, e.created_at
FROM identity_events e JOIN users u ON u.id = e.user_id;
DROP TABLE identity_events;
