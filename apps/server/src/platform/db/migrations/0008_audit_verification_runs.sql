-- Runs of the audit log verification (console, API, CLI): who started it, its progress while it
-- runs and its result, so "the last verification" survives restarts and is the same on every node.
CREATE TABLE audit_verification_runs (
  id                   uuid PRIMARY KEY,
  -- Start order (clocks of several nodes may disagree; the newest run is the highest seq).
  seq                  bigint GENERATED ALWAYS AS IDENTITY,
  -- The user who started it; NULL for the local operator (offline CLI without a token).
  started_by           uuid REFERENCES users (id),
  source               text NOT NULL CHECK (source IN ('console', 'api', 'cli')),
  status               text NOT NULL CHECK (status IN ('running', 'ok', 'failed', 'error')),
  started_at           timestamptz NOT NULL,
  -- Progress, written while it runs; a run whose heartbeat stops (its process died) is abandoned.
  heartbeat_at         timestamptz NOT NULL,
  finished_at          timestamptz,
  done                 bigint NOT NULL DEFAULT 0,
  total                bigint NOT NULL DEFAULT 0,
  tree_size            bigint,
  root_hash            bytea,
  checkpoints          integer,
  witness_checkpoints  integer,
  -- The first problem found ({kind, index, detail}) when status = 'failed'.
  problem              jsonb,
  -- A stable code when the run itself broke (status = 'error'), never a message with data in it.
  error                text
);

-- One verification at a time (across nodes): at most one row is running.
CREATE UNIQUE INDEX audit_verification_runs_one_running ON audit_verification_runs ((true)) WHERE status = 'running';
CREATE INDEX audit_verification_runs_seq_idx ON audit_verification_runs (seq DESC);
