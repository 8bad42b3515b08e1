-- A running export holds a lease: its worker renews `heartbeat_at` while it works. A worker that died
-- (SIGKILL, power loss, OOM) stops renewing, and after the lease another worker takes the export over
-- and starts it again from the stored, wrapped export key. `attempt` is the fencing token: a worker
-- writes progress, its file and its completion only while the attempt is still its own.
ALTER TABLE extractions ADD COLUMN heartbeat_at timestamptz;
ALTER TABLE extractions ADD COLUMN attempt integer NOT NULL DEFAULT 0;
UPDATE extractions SET heartbeat_at = started_at, attempt = 1 WHERE state = 'running';
