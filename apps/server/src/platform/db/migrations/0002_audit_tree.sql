-- Merkle log storage for proofs and checkpoints (the tamper-evident audit log).

-- Hashes of every complete perfect subtree above the leaves: node (level, idx) covers leaves
-- [idx * 2^level, (idx + 1) * 2^level). Level 0 is audit_events.leaf_hash by log_index.
CREATE TABLE audit_tree_nodes (
  level  smallint NOT NULL CHECK (level >= 1),
  idx    bigint NOT NULL,
  hash   bytea NOT NULL,
  PRIMARY KEY (level, idx)
);

-- Signed checkpoints (C2SP tlog-checkpoint signed notes), one per integrated batch.
CREATE TABLE audit_checkpoints (
  tree_size   bigint PRIMARY KEY,
  root_hash   bytea NOT NULL,
  note        text NOT NULL,
  created_at  timestamptz NOT NULL
);

CREATE INDEX audit_events_log_index_idx ON audit_events (log_index) WHERE log_index IS NOT NULL;
