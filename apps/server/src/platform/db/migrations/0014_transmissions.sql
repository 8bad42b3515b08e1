-- Outbound transmissions (T6): held messages, their DLP findings (masked), the delivery state
-- machine, the rules, and the periodic review. The message itself (MIME, body and attachments) is
-- stored encrypted under a per-message key wrapped by the master keyring, and deleted once the
-- message is delivered, blocked, rejected or cancelled.

CREATE TABLE transmission_settings (
  id          smallint PRIMARY KEY CHECK (id = 1),
  rules       jsonb NOT NULL,
  version     integer NOT NULL DEFAULT 1,
  updated_at  timestamptz NOT NULL,
  updated_by  uuid
);

CREATE TABLE transmissions (
  id                   uuid PRIMARY KEY,
  sender_id            uuid NOT NULL REFERENCES users (id),
  sender_address       text NOT NULL,
  channel              text NOT NULL CHECK (channel IN ('smtp', 'console')),
  state                text NOT NULL CHECK (state IN ('unconfirmed', 'pending_approval', 'queued', 'delivered', 'blocked', 'rejected', 'cancelled', 'failed')),
  route                text NOT NULL CHECK (route IN ('approve', 'block', 'direct')),
  reasons              text[] NOT NULL,
  recipients           text[] NOT NULL CHECK (cardinality(recipients) BETWEEN 1 AND 100),
  external_recipients  text[] NOT NULL,
  subject              text NOT NULL,
  attachments          jsonb NOT NULL,
  bytes                integer NOT NULL,
  -- Masked findings, the per-kind summary and the parts that could not be scanned.
  findings             jsonb NOT NULL,
  summary              jsonb NOT NULL,
  scan_errors          jsonb NOT NULL,
  -- The message (RFC 5322), AES-256-GCM under `wrapped_key`; NULL once it has served its purpose.
  content              bytea,
  master_key_id        text NOT NULL,
  wrapped_key          bytea NOT NULL,
  approval_request_id  uuid REFERENCES approval_requests (id),
  approved_by          uuid[] NOT NULL DEFAULT '{}',
  bcc_user_id          uuid REFERENCES users (id),
  -- Delivery: attempts, lease (claimed_until) and the last error code (DELIVERY_ERRORS).
  attempts             integer NOT NULL DEFAULT 0,
  next_attempt_at      timestamptz,
  claimed_until        timestamptz,
  delivery_error       text,
  created_at           timestamptz NOT NULL,
  decided_at           timestamptz,
  delivered_at         timestamptz,
  CHECK (state <> 'delivered' OR delivered_at IS NOT NULL),
  CHECK (state NOT IN ('delivered', 'blocked', 'rejected', 'cancelled') OR content IS NULL)
);
CREATE INDEX transmissions_sender_idx ON transmissions (sender_id, created_at DESC);
CREATE INDEX transmissions_due_idx ON transmissions (next_attempt_at) WHERE state = 'queued';
CREATE INDEX transmissions_pending_idx ON transmissions (approval_request_id) WHERE state = 'pending_approval';
CREATE INDEX transmissions_delivered_idx ON transmissions (delivered_at) WHERE state = 'delivered';

-- APPI Art. 29 records: a transmission of personal data to a third party is a provision too. The
-- extraction module owns the register; a record comes from exactly one extraction or transmission.
ALTER TABLE provision_records
  ALTER COLUMN extraction_id DROP NOT NULL,
  ALTER COLUMN dataset_id DROP NOT NULL,
  ADD COLUMN transmission_id uuid UNIQUE REFERENCES transmissions (id),
  ADD CONSTRAINT provision_records_one_source CHECK ((extraction_id IS NULL) <> (transmission_id IS NULL));

-- Periodic review: one row per period, the period's delivered transmissions (or a sample) as items.
CREATE TABLE transmission_reviews (
  id                  uuid PRIMARY KEY,
  period_start        timestamptz NOT NULL UNIQUE,
  period_end          timestamptz NOT NULL,
  due_at              timestamptz NOT NULL,
  sample_percent      integer NOT NULL,
  state               text NOT NULL CHECK (state IN ('open', 'closed')),
  created_at          timestamptz NOT NULL,
  closed_at           timestamptz,
  overdue_alerted_at  timestamptz
);
CREATE TABLE transmission_review_items (
  review_id        uuid NOT NULL REFERENCES transmission_reviews (id),
  transmission_id  uuid NOT NULL REFERENCES transmissions (id),
  verdict          text CHECK (verdict IN ('appropriate', 'inappropriate')),
  note             text NOT NULL DEFAULT '',
  marked_by        uuid REFERENCES users (id),
  marked_at        timestamptz,
  PRIMARY KEY (review_id, transmission_id)
);
