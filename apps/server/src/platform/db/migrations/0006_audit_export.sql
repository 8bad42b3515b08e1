-- SIEM export: one cursor per destination (syslog over TLS, HTTPS JSON Lines, JSON Lines file).
-- next_seq is the first log index the destination has not acknowledged; it only moves forward, by
-- compare-and-set from the value the exporter read, so two exporters can never both advance it.
-- inflight_to pins the batch being sent: a retry (also after a restart) resends exactly
-- [next_seq, inflight_to), so the idempotency key (the first seq) always names the same events.
CREATE TABLE audit_export_cursors (
  id               text PRIMARY KEY,
  kind             text NOT NULL CHECK (kind IN ('syslog', 'https', 'file')),
  target           text NOT NULL,
  next_seq         bigint NOT NULL DEFAULT 0 CHECK (next_seq >= 0),
  inflight_to      bigint CHECK (inflight_to IS NULL OR inflight_to > next_seq),
  last_success_at  timestamptz,
  last_error       text,
  last_error_at    timestamptz,
  heartbeat_at     timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now()
);
