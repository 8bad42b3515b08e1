-- The outbox: external effects (mail now; webhooks to door controllers, SIEM later) written in the
-- same transaction as the change that causes them and delivered by a worker after commit.
CREATE TABLE outbox (
  id               uuid PRIMARY KEY,
  kind             text NOT NULL,                 -- how it is delivered: 'mail', later 'webhook', …
  category         text NOT NULL,                 -- what produced it: 'alert', 'approval', …
  related_id       text,                          -- the alert, approval, … it belongs to
  payload          jsonb NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL,
  -- A worker that claimed the row owns it until then (delivery happens outside any transaction).
  claimed_until    timestamptz,
  last_attempt_at  timestamptz,
  last_error       text,
  sent_at          timestamptz,
  created_at       timestamptz NOT NULL
);

CREATE INDEX outbox_due_idx ON outbox (kind, next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_related_idx ON outbox (category, related_id);
