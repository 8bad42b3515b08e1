/**
 * One database API over two engines: embedded PGlite (Postgres in WASM, in-process, one connection)
 * and a real PostgreSQL through `pg`. Both speak the same SQL; results are normalised so that
 * int8 arrives as number and bytea as Buffer on either engine.
 */
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, type Transaction } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DB } from './schema.ts';

export type Engine = 'pglite' | 'postgres';

export type Database = {
  readonly db: Kysely<DB>;
  readonly engine: Engine;
  /** A raw `pg` pool for COPY streams and LISTEN/NOTIFY (postgres engine only). */
  readonly pool: pg.Pool | null;
  bulkTransaction<T>(fn: (bulk: BulkTransaction) => Promise<T>): Promise<T>;
  close(): Promise<void>;
};

const IDENT = /^[a-z_][a-z0-9_]*$/;
function copySql(table: string, columns: readonly string[], source: string): string {
  for (const name of [table, ...columns]) if (!IDENT.test(name)) throw new Error(`bad identifier for COPY: ${name}`);
  return `COPY ${table} (${columns.join(', ')}) FROM ${source} (FORMAT csv)`;
}

export type Executor = Kysely<DB> | Transaction<DB>;

/**
 * A transaction that can also bulk-load with COPY (imports): PostgreSQL's COPY FROM STDIN through the
 * transaction's own connection, PGlite's COPY FROM '/dev/blob'. `executor` runs ordinary statements
 * (the audit append among them) in the same transaction.
 */
export type BulkTransaction = {
  executor: Executor;
  /** Loads rows given as CSV text (RFC 4180, no header) into `table (columns)`. */
  copyCsv(table: string, columns: readonly string[], csv: string): Promise<void>;
};

type PgLikeResult = { rows: unknown[]; rowCount: number; command: string };

function toBuffers(rows: Record<string, unknown>[]): void {
  for (const row of rows) {
    for (const k in row) {
      const v = row[k];
      if (v instanceof Uint8Array && !Buffer.isBuffer(v)) row[k] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      else if (Array.isArray(v) && v[0] instanceof Uint8Array) {
        row[k] = v.map((x: Uint8Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength));
      }
    }
  }
}

/**
 * Presents PGlite as the small part of a `pg.Pool` that Kysely's PostgresDialect uses. PGlite has a
 * single connection, so `connect()` hands it out exclusively (a FIFO mutex): a transaction owns the
 * engine until it releases it, and statements of other requests queue behind it.
 */
class PGlitePool {
  private tail: Promise<void> = Promise.resolve();
  constructor(private readonly pglite: PGlite) {}

  async connect(): Promise<{ query: (sql: string, params: unknown[]) => Promise<PgLikeResult>; release: () => void }> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const previous = this.tail;
    this.tail = previous.then(() => next);
    await previous;
    const pglite = this.pglite;
    return {
      async query(sql: string, params: unknown[]): Promise<PgLikeResult> {
        // Without parameters use the simple protocol, which (as with `pg`) accepts several statements.
        const res =
          params.length === 0
            ? ((await pglite.exec(sql)).at(-1) ?? { rows: [], affectedRows: 0 })
            : await pglite.query<Record<string, unknown>>(sql, params);
        toBuffers(res.rows as Record<string, unknown>[]);
        const command = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? '';
        return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length, command };
      },
      release,
    };
  }

  async end(): Promise<void> {
    await this.pglite.close();
  }
}

export type OpenOptions = { databaseUrl: string | null; dataDir?: string | null; poolSize?: number };

export async function openDatabase(options: OpenOptions): Promise<Database> {
  if (options.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 20,
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
          // int8 (counts, log indexes) as number: every value Mamori stores in int8 stays below 2^53.
          if (oid === 20) return (v: string) => Number(v);
          if (oid === 1016) return (v: string) => (v === '{}' ? [] : v.slice(1, -1).split(',').map(Number));
          return pg.types.getTypeParser(oid, format as 'text');
        }) as typeof pg.types.getTypeParser,
      },
    });
    // A broken idle connection must not crash the process; the next checkout reconnects.
    pool.on('error', () => undefined);
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    const bulkTransaction = async <T>(fn: (bulk: BulkTransaction) => Promise<T>): Promise<T> => {
      const client = await pool.connect();
      // A Kysely bound to this one connection, so its statements run inside the transaction opened here.
      const single = { connect: async () => Object.assign(client, { release: () => undefined }), end: async () => undefined };
      const executor = new Kysely<DB>({ dialect: new PostgresDialect({ pool: single as unknown as pg.Pool }) });
      const release = client.release.bind(client);
      try {
        await client.query('BEGIN');
        const result = await fn({
          executor,
          async copyCsv(table, columns, csv) {
            const stream = client.query(copyFrom(copySql(table, columns, 'STDIN')));
            await pipeline(Readable.from([Buffer.from(csv, 'utf8')]), stream);
          },
        });
        await client.query('COMMIT');
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        release();
      }
    };
    return { db, engine: 'postgres', pool, bulkTransaction, close: () => db.destroy() };
  }
  const pglite = await PGlite.create(options.dataDir ?? undefined);
  const pool = new PGlitePool(pglite);
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: pool as unknown as pg.Pool }) });
  const bulkTransaction = <T>(fn: (bulk: BulkTransaction) => Promise<T>): Promise<T> =>
    db.transaction().execute((tx) =>
      fn({
        executor: tx,
        // The transaction holds PGlite's only session (see PGlitePool), so a direct COPY runs inside it.
        async copyCsv(table, columns, csv) {
          await pglite.query(copySql(table, columns, "'/dev/blob'"), [], { blob: new Blob([csv]) });
        },
      }),
    );
  return { db, engine: 'pglite', pool: null, bulkTransaction, close: () => db.destroy() };
}
