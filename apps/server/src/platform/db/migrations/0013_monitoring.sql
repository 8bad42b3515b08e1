-- Monitoring over the integrated audit stream: rule configuration, the consumer's cursor, windowed
-- observations, and the alerts raised for the security center.

-- The rules as one versioned JSON document (validated by the service; defaults written on first use).
CREATE TABLE monitor_settings (
  id          smallint PRIMARY KEY CHECK (id = 1),
  rules       jsonb NOT NULL,
  version     integer NOT NULL DEFAULT 1,
  updated_at  timestamptz NOT NULL,
  updated_by  uuid
);

-- The next log index to evaluate: advanced in the same transaction as the alerts it produced, so
-- every integrated event is evaluated exactly once across restarts.
CREATE TABLE monitor_cursor (
  id          smallint PRIMARY KEY CHECK (id = 1),
  next_index  bigint NOT NULL,
  updated_at  timestamptz NOT NULL
);

-- Windowed state (reads per user per hour, denials in the last N minutes); pruned as time moves on.
CREATE TABLE monitor_observations (
  rule       text NOT NULL,
  subject    text NOT NULL,
  at         timestamptz NOT NULL,
  log_index  bigint NOT NULL,
  weight     integer NOT NULL
);
CREATE INDEX monitor_observations_idx ON monitor_observations (rule, subject, at);

CREATE TABLE monitor_alerts (
  id               uuid PRIMARY KEY,
  rule             text NOT NULL,
  severity         text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
  status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'closed')),
  -- What makes two hits "the same alert" (rule, subject, window): one not-closed alert per key.
  dedup_key        text NOT NULL,
  subject          text NOT NULL,
  subject_user_id  uuid,
  summary          jsonb NOT NULL,
  -- Evidence as audit log indexes only (no values); the first ones, event_count says how many.
  evidence         bigint[] NOT NULL,
  event_count      integer NOT NULL,
  first_event_at   timestamptz NOT NULL,
  last_event_at    timestamptz NOT NULL,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  acknowledged_at  timestamptz,
  acknowledged_by  uuid,
  closed_at        timestamptz,
  closed_by        uuid,
  close_note       text,
  notes            jsonb NOT NULL DEFAULT '[]'
);
CREATE UNIQUE INDEX monitor_alerts_open_key ON monitor_alerts (dedup_key) WHERE status <> 'closed';
CREATE INDEX monitor_alerts_list_idx ON monitor_alerts (status, created_at DESC);
