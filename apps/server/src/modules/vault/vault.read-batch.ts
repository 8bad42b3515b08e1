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

/** Joins the payloads of a batch (see READ_AUDITED_BATCH); JSON never holds it unescaped. */
const PAYLOAD_SEPARATOR = '\x1e';

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

/**
 * One statement for a batch of reads. Each distinct credential of the batch is re-checked once (`c`:
 * under load most reads of a batch come from a few tokens or sessions), each record is read with its
 * caller's check (`j`), and each read's audit event is appended with its own result, in batch order.
 * `j` is referenced twice, so PostgreSQL computes it once.
 *
 * The events' payloads travel as one text joined by U+001E (record separator) rather than as a
 * text[] literal: the driver would escape every quote of every payload and PostgreSQL unescape it.
 * A payload is canonical JSON (JSON.stringify escapes every control character), so it never holds
 * U+001E; `read` refuses one that does rather than let it shift the events of its neighbours.
 */
export const READ_AUDITED_BATCH = `
  WITH q AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], string_to_array($3::text, chr(30)), $4::text[], $5::text[], $6::timestamptz[], $7::uuid[], $8::text[], $9::text[])
      WITH ORDINALITY AS q(record_id, dataset_id, payload, cred_kind, cred_hash, at, actor_user_id, action, decision, n)
  ), c AS MATERIALIZED (
    SELECT d.cred_kind, d.cred_hash, CASE d.cred_kind
      WHEN 'session' THEN EXISTS (SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.id = decode(d.cred_hash, 'hex') AND s.revoked_at IS NULL AND u.status = 'active')
      WHEN 'token' THEN EXISTS (SELECT 1 FROM api_tokens t JOIN users u ON u.id = t.user_id
        WHERE t.token_hash = decode(d.cred_hash, 'hex') AND t.revoked_at IS NULL AND u.status = 'active')
      ELSE true END AS ok
    FROM (SELECT DISTINCT cred_kind, coalesce(cred_hash, '') AS cred_hash FROM q) AS d
  ), j AS (
    SELECT q.n, q.payload, q.at, q.actor_user_id, q.action, q.decision, q.record_id, q.dataset_id, c.ok, rec.id, rec.public, rec.sealed, rec.key_id, rec.version, rec.updated_at
    FROM q JOIN c ON c.cred_kind = q.cred_kind AND c.cred_hash = coalesce(q.cred_hash, '')
    LEFT JOIN records rec ON c.ok AND rec.id = q.record_id AND rec.dataset_id = q.dataset_id
  ), a AS (
    INSERT INTO audit_pending (payload, at, actor_user_id, action, dataset_id, record_ids, decision)
    SELECT replace(j.payload, '"__MAMORI_RESULT__"',
      CASE WHEN NOT j.ok THEN '"revoked"' WHEN j.id IS NOT NULL THEN '"ok"' ELSE '"not_found"' END),
      j.at, j.actor_user_id, j.action, CASE WHEN j.at IS NOT NULL THEN j.dataset_id END,
      CASE WHEN j.at IS NOT NULL THEN ARRAY[j.record_id] END, j.decision
    FROM j ORDER BY j.n
    RETURNING 1
  )
  SELECT j.n, j.ok AS live, j.id, j.public, j.sealed, j.key_id, j.version, j.updated_at
  FROM j WHERE (SELECT count(*) FROM a) >= 0`;

/** Counters of the batcher (the gate bench prints them: the batch size decides the cost per read). */
export type ReadBatchStats = { statements: number; reads: number; maxInFlight: number };

type BatchRow = RecordRow & { n: number | string; live: boolean; id: string | null };

export class AuditedReadBatcher {
  private queue: Waiting[] = [];
  private inFlight = 0;
  private scheduled = false;
  private statements = 0;
  private reads = 0;
  private readonly pumpSoon = (): void => {
    this.scheduled = false;
    this.pump();
  };

  /** `maxInFlight`: statements running at once (PGlite has one connection: 1). */
  constructor(
    private readonly database: Database,
    private readonly maxInFlight: number,
  ) {}

  stats(): ReadBatchStats {
    return { statements: this.statements, reads: this.reads, maxInFlight: this.maxInFlight };
  }

  /**
   * `columns`: the event's searchable columns (`auditColumns`); they are stored only when they name
   * this one dataset and record, as the statement writes those from the read itself. Without them
   * the sequencer derives them from the bytes.
   */
  read(datasetId: string, recordId: string, payload: string, credential: Credential, columns?: AuditColumns): Promise<AuditedRead> {
    if (payload.includes(PAYLOAD_SEPARATOR)) return Promise.reject(new Error('audited read: the event payload is not canonical JSON'));
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
      this.statements++;
      this.reads += batch.length;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async run(batch: Waiting[]): Promise<void> {
    try {
      const n = batch.length;
      const recordIds = new Array<string>(n);
      const datasetIds = new Array<string>(n);
      const payloads = new Array<string>(n);
      const kinds = new Array<string>(n);
      const hashes = new Array<string | null>(n);
      const ats = new Array<Date | null>(n);
      const actors = new Array<string | null>(n);
      const actions = new Array<string | null>(n);
      const decisions = new Array<string | null>(n);
      for (let i = 0; i < n; i++) {
        const w = batch[i]!;
        recordIds[i] = w.recordId;
        datasetIds[i] = w.datasetId;
        payloads[i] = w.payload;
        kinds[i] = w.credential?.kind ?? 'none';
        hashes[i] = w.credential?.hash.toString('hex') ?? null;
        ats[i] = w.columns?.at ?? null;
        actors[i] = w.columns?.actorUserId ?? null;
        actions[i] = w.columns?.action ?? null;
        decisions[i] = w.columns?.decision ?? null;
      }
      const rows = await this.database.prepared<BatchRow>('mamori_read_audited_batch', READ_AUDITED_BATCH, [
        recordIds, datasetIds, payloads.join(PAYLOAD_SEPARATOR), kinds, hashes, ats, actors, actions, decisions,
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
