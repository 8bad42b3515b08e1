/**
 * Audited single-record reads, many requests to one statement (ADR 0004).
 *
 * Every read of a record must be one atomic unit with its audit event and a re-check of the caller's
 * credential (ADR 0001). Under load, most of the cost of such a read is per statement, not per row:
 * the round trip, the transaction (an xid, a commit record), protocol parsing on both sides. So reads
 * that arrive while earlier statements are still running queue here and go to the database together:
 * one statement reads every queued record, re-checks every caller's credential and appends every
 * caller's audit event. Each read and its event are still in the same statement; if the statement
 * fails, every read in it fails and no event of it is written. With no load a read goes alone, at once.
 */
import type { Database } from '../../platform/db/database.ts';
import type { AuditColumns } from '../audit/audit.payload.ts';
import type { Credential, RecordRow } from './vault.repository.ts';

export type AuditedRead = { live: boolean; row: RecordRow | undefined };

type Waiting = {
  datasetId: string;
  recordId: string;
  payload: string;
  /** The event's searchable columns; null: the sequencer derives them from the bytes. */
  columns: AuditColumns | null;
  credential: Credential;
  resolve(r: AuditedRead): void;
  reject(e: unknown): void;
};

/** At most this many reads per statement: bounds the statement's work and a failure's reach. */
export const MAX_READS_PER_STATEMENT = 64;

export const READ_AUDITED_BATCH = `
  WITH q AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::uuid[], $8::text[], $9::text[])
      WITH ORDINALITY AS q(record_id, dataset_id, payload, cred_kind, cred_hash, at, actor_user_id, action, decision, n)
  ), l AS (
    SELECT q.n, CASE q.cred_kind
      WHEN 'session' THEN EXISTS (SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.id = decode(q.cred_hash, 'hex') AND s.revoked_at IS NULL AND u.status = 'active')
      WHEN 'token' THEN EXISTS (SELECT 1 FROM api_tokens t JOIN users u ON u.id = t.user_id
        WHERE t.token_hash = decode(q.cred_hash, 'hex') AND t.revoked_at IS NULL AND u.status = 'active')
      ELSE true END AS ok
    FROM q
  ), r AS (
    SELECT q.n, rec.id, rec.public, rec.sealed, rec.key_id, rec.version, rec.updated_at
    FROM q JOIN l ON l.n = q.n JOIN records rec ON rec.id = q.record_id AND rec.dataset_id = q.dataset_id
    WHERE l.ok
  ), a AS (
    INSERT INTO audit_pending (payload, at, actor_user_id, action, dataset_id, record_ids, decision)
    SELECT replace(q.payload, '"__MAMORI_RESULT__"',
      CASE WHEN NOT l.ok THEN '"revoked"' WHEN r.n IS NOT NULL THEN '"ok"' ELSE '"not_found"' END),
      q.at, q.actor_user_id, q.action, CASE WHEN q.at IS NOT NULL THEN q.dataset_id END,
      CASE WHEN q.at IS NOT NULL THEN ARRAY[q.record_id] END, q.decision
    FROM q JOIN l ON l.n = q.n LEFT JOIN r ON r.n = q.n
    ORDER BY q.n
    RETURNING 1
  )
  SELECT q.n, l.ok AS live, r.id, r.public, r.sealed, r.key_id, r.version, r.updated_at
  FROM q JOIN l ON l.n = q.n LEFT JOIN r ON r.n = q.n CROSS JOIN (SELECT count(*) FROM a) AS audited`;

type BatchRow = RecordRow & { n: number | string; live: boolean; id: string | null };

export class AuditedReadBatcher {
  private queue: Waiting[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly pumpSoon = (): void => {
    this.scheduled = false;
    this.pump();
  };

  /** `maxInFlight`: statements running at once (PGlite has one connection: 1). */
  constructor(
    private readonly database: Database,
    private readonly maxInFlight: number,
  ) {}

  /**
   * `columns`: the event's searchable columns (`auditColumns`); they are stored only when they name
   * this one dataset and record, as the statement writes those from the read itself. Without them
   * the sequencer derives them from the bytes.
   */
  read(datasetId: string, recordId: string, payload: string, credential: Credential, columns?: AuditColumns): Promise<AuditedRead> {
    const c = columns && columns.datasetId === datasetId && columns.recordIds.length === 1 && columns.recordIds[0] === recordId ? columns : null;
    return new Promise<AuditedRead>((resolve, reject) => {
      this.queue.push({ datasetId, recordId, payload, columns: c, credential, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.pumpSoon);
      }
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_READS_PER_STATEMENT);
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async run(batch: Waiting[]): Promise<void> {
    try {
      const rows = await this.database.prepared<BatchRow>('mamori_read_audited_batch', READ_AUDITED_BATCH, [
        batch.map((w) => w.recordId),
        batch.map((w) => w.datasetId),
        batch.map((w) => w.payload),
        batch.map((w) => w.credential?.kind ?? 'none'),
        batch.map((w) => w.credential?.hash.toString('hex') ?? null),
        batch.map((w) => w.columns?.at ?? null),
        batch.map((w) => w.columns?.actorUserId ?? null),
        batch.map((w) => w.columns?.action ?? null),
        batch.map((w) => w.columns?.decision ?? null),
      ]);
      const byN = new Map<number, BatchRow>();
      for (const r of rows) byN.set(Number(r.n), r);
      batch.forEach((w, i) => {
        const r = byN.get(i + 1);
        if (!r) w.reject(new Error('audited read: the statement returned no row for a read'));
        else w.resolve({ live: r.live === true, row: r.id ? { id: r.id, public: r.public, sealed: r.sealed, key_id: r.key_id, version: r.version, updated_at: r.updated_at } : undefined });
      });
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }
}
