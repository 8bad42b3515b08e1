/**
 * One database API over two engines: embedded PGlite (Postgres in WASM, in-process, one connection)
 * and a real PostgreSQL through `pg`. Both speak the same SQL; results are normalised so that
 * int8 arrives as number and bytea as Buffer on either engine.
 */
import { PGlite } from '@electric-sql/pglite';
import { CompiledQuery, Kysely, PostgresDialect, type PostgresCursorConstructor, type Transaction } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { DB } from './schema.ts';
import { PGliteCopyOut, PgCopyOutCursor } from './copy-out.ts';

// The dialects' streaming hook carries `COPY … TO STDOUT` (copy-out.ts); nothing else streams.
const PG_CURSOR = PgCopyOutCursor as unknown as PostgresCursorConstructor;
const PGLITE_CURSOR = PGliteCopyOut as unknown as PostgresCursorConstructor;

export type Engine = 'pglite' | 'postgres';

export type Database = {
  readonly db: Kysely<DB>;
  readonly engine: Engine;
  /** A raw `pg` pool for COPY streams and LISTEN/NOTIFY (postgres engine only). */
  readonly pool: pg.Pool | null;
  bulkTransaction<T>(fn: (bulk: BulkTransaction) => Promise<T>): Promise<T>;
  /**
   * Runs a hot statement outside any transaction as a named prepared statement on PostgreSQL (planned
   * once per connection instead of on every call); on PGlite it is an ordinary parameterised query.
   */
  prepared<R>(name: string, text: string, values: unknown[]): Promise<R[]>;
  /** PGlite only: the whole data directory as a tarball, which `loadDataDir` starts another database from. */
  dumpDataDir?(): Promise<Blob>;
  close(): Promise<void>;
};

const IDENT = /^[a-z_][a-z0-9_]*$/;
/** csv: RFC 4180 rows without a header; binary: PostgreSQL's binary COPY format, header and trailer included. */
export type CopyFormat = 'csv' | 'binary';

function copySql(table: string, columns: readonly string[], source: string, format: CopyFormat): string {
  for (const name of [table, ...columns]) if (!IDENT.test(name)) throw new Error(`bad identifier for COPY: ${name}`);
  return `COPY ${table} (${columns.join(', ')}) FROM ${source} (FORMAT ${format === 'binary' ? 'binary' : 'csv'})`;
}

export type Executor = Kysely<DB> | Transaction<DB>;

/**
 * A transaction that can also bulk-load with COPY (imports): PostgreSQL's COPY FROM STDIN through the
 * transaction's own connection, PGlite's COPY FROM '/dev/blob'. `executor` runs ordinary statements
 * (the audit append among them) in the same transaction.
 *
 * `openCopy` and `queue` are pipelined: they are sent in call order without waiting for earlier ones
 * to finish, so the caller can prepare the next rows while the database loads the previous ones.
 * The transaction waits for all of them (and fails if one failed) before it commits.
 */
export type BulkTransaction = {
  executor: Executor;
  /** Loads rows given as CSV text (RFC 4180, no header) into `table (columns)`. */
  copyCsv(table: string, columns: readonly string[], csv: string): Promise<void>;
  /**
   * Opens a COPY of rows into `table (columns)`, CSV unless `format` says binary. On PostgreSQL the
   * bytes stream to the server as they are written (with backpressure: `write` resolves when more may
   * be written); PGlite has no streaming COPY, so there the bytes are kept and loaded at `end`.
   */
  openCopy(table: string, columns: readonly string[], format?: CopyFormat): CopyWriter;
  /** Sends one statement after everything opened or queued before it, without waiting for it. */
  queue(statement: string, params?: readonly unknown[]): Promise<void>;
};

export type CopyWriter = {
  /** Adds CSV bytes (whole rows or not). Resolves at once, or once the stream can take more. */
  write(chunk: Buffer): Promise<void>;
  /** Ends the COPY; settles when its rows are loaded. May be awaited later (the transaction does). */
  end(): Promise<void>;
};

/** Tracks the pipelined operations of a bulk transaction: none may reject unobserved. */
class Pending {
  private readonly ops: Promise<unknown>[] = [];
  add<T>(p: Promise<T>): Promise<T> {
    p.catch(() => undefined);
    this.ops.push(p);
    return p;
  }
  async all(): Promise<void> {
    while (this.ops.length > 0) await Promise.all(this.ops.splice(0));
  }
}

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

  async connect(): Promise<{ query: (sql: string | PGliteCopyOut, params: unknown[]) => Promise<PgLikeResult> | PGliteCopyOut; release: () => void }> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const previous = this.tail;
    this.tail = previous.then(() => next);
    await previous;
    const pglite = this.pglite;
    return {
      query(sql: string | PGliteCopyOut, params: unknown[]): Promise<PgLikeResult> | PGliteCopyOut {
        // Kysely hands a streamed COPY over as a cursor object and reads it at once (no await).
        if (sql instanceof PGliteCopyOut) {
          return sql.start(async (text) => {
            const blob = (await pglite.query(text)).blob;
            return blob ? Buffer.from(await blob.arrayBuffer()) : Buffer.alloc(0);
          });
        }
        return run(sql, params);
      },
      release,
    };
    async function run(sql: string, params: unknown[]): Promise<PgLikeResult> {
      // Without parameters use the simple protocol, which (as with `pg`) accepts several statements.
      const res =
        params.length === 0
          ? ((await pglite.exec(sql)).at(-1) ?? { rows: [], affectedRows: 0 })
          : await pglite.query<Record<string, unknown>>(sql, params);
      toBuffers(res.rows as Record<string, unknown>[]);
      const command = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? '';
      return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length, command };
    }
  }

  async end(): Promise<void> {
    await this.pglite.close();
  }
}

export type OpenOptions = {
  databaseUrl: string | null;
  dataDir?: string | null;
  poolSize?: number;
  /** PGlite only: start from this data directory (a `dumpDataDir()` tarball) instead of an empty one. */
  loadDataDir?: Blob;
};

/** PostgreSQL's own lines that say why a start failed (its log lines carry a time and process prefix). */
const START_FAILURE = /\b(FATAL|PANIC|ERROR|DETAIL|HINT):\s+(.*)$/;

/**
 * Starts the embedded PostgreSQL. When it cannot start, PGlite says only "PGlite failed to initialize
 * properly" (or, after a PANIC, "Aborted()"): the error then names the data folder and carries what
 * PostgreSQL itself said (its stderr, kept while it starts: no query text or data, only the server's
 * start-up messages — a control file from another version, a checkpoint record recovery cannot find).
 */
async function startPGlite(options: OpenOptions): Promise<PGlite> {
  const said: string[] = [];
  let starting = true;
  const onStderr = (line: string): boolean => {
    const m = starting ? START_FAILURE.exec(line) : null;
    if (m) said.push(`${m[1]}: ${m[2]}`);
    return false;
  };
  try {
    return await PGlite.create({ ...(options.dataDir ? { dataDir: options.dataDir } : {}), ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}), onStderr });
  } catch (e) {
    const where = options.dataDir ? ` in ${options.dataDir}` : '';
    const why = said.length > 0 ? `: ${said.slice(-6).join(' ')}` : '';
    throw new Error(`the embedded database${where} did not start${why} (PGlite: ${e instanceof Error ? e.message : String(e)})`, { cause: e });
  } finally {
    starting = false;
  }
}

export async function openDatabase(options: OpenOptions): Promise<Database> {
  if (options.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 20,
      // Named prepared statements (`prepared` below: the hot audited read of ADR 0004) are planned once
      // per connection. Left to itself PostgreSQL re-plans them on every call, because their array
      // parameters make each custom plan look cheaper than the generic one; planning then costs more
      // than executing. Unnamed statements (everything Kysely sends) are planned per call either way.
      options: '-c plan_cache_mode=force_generic_plan',
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
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool, cursor: PG_CURSOR }) });
    const bulkTransaction = async <T>(fn: (bulk: BulkTransaction) => Promise<T>): Promise<T> => {
      const client = await pool.connect();
      // A Kysely bound to this one connection, so its statements run inside the transaction opened here.
      const single = { connect: async () => Object.assign(client, { release: () => undefined }), end: async () => undefined };
      const executor = new Kysely<DB>({ dialect: new PostgresDialect({ pool: single as unknown as pg.Pool, cursor: PG_CURSOR }) });
      const release = client.release.bind(client);
      const pending = new Pending();
      const streams = new Set<Writable>();
      // Pipelined operations run one after another on this connection, in call order (pg's own
      // queue of concurrent client.query calls is deprecated). After a failure nothing more starts.
      let tail: Promise<unknown> = Promise.resolve();
      let failed: unknown = null;
      const enqueue = <R>(start: () => Promise<R>): Promise<R> => {
        const run = tail.then(() => {
          if (failed !== null) throw failed;
          return start();
        });
        tail = run.catch((e: unknown) => (failed ??= e));
        return pending.add(run);
      };
      const openStream = (table: string, columns: readonly string[], format: CopyFormat = 'csv'): { stream: Writable; done: Promise<void> } => {
        // The stream buffers what is written (corked) until its turn comes and the server accepts
        // the COPY; a large buffer lets the caller prepare a batch while earlier operations run.
        const stream = copyFrom(copySql(table, columns, 'STDIN', format), { highWaterMark: 16 << 20 });
        streams.add(stream);
        const done = enqueue(() => {
          client.query(stream);
          return finished(stream);
        });
        void done.then(() => streams.delete(stream), () => undefined);
        return { stream, done };
      };
      let broken: Error | null = null;
      try {
        await client.query('BEGIN');
        const result = await fn({
          executor,
          async copyCsv(table, columns, csv) {
            const { stream, done } = openStream(table, columns);
            stream.end(Buffer.from(csv, 'utf8'));
            await done;
          },
          openCopy(table, columns, format) {
            const { stream, done } = openStream(table, columns, format);
            // Writers waiting for room share one promise (one 'drain' listener however many wait).
            let room: Promise<void> | null = null;
            return {
              write(chunk) {
                if (stream.write(chunk)) return Promise.resolve();
                // Whichever comes first: room in the buffer, or the COPY failing (or never starting).
                room ??= new Promise<void>((resolve, reject) => {
                  const onDrain = () => {
                    room = null;
                    resolve();
                  };
                  stream.once('drain', onDrain);
                  done.then(
                    () => resolve(),
                    (e: unknown) => {
                      stream.off('drain', onDrain);
                      reject(e as Error);
                    },
                  );
                });
                return room;
              },
              end() {
                stream.end();
                return done;
              },
            };
          },
          queue(statement, params = []) {
            return enqueue(() => client.query(statement, params as unknown[]).then(() => undefined));
          },
        });
        await pending.all();
        await client.query('COMMIT');
        return result;
      } catch (e) {
        failed ??= e;
        if (streams.size > 0) {
          // A COPY still open holds the connection in COPY mode, so a ROLLBACK would queue behind it
          // forever: drop the connection instead (the server rolls the transaction back).
          broken = e instanceof Error ? e : new Error(String(e));
          for (const s of streams) s.destroy(broken);
        } else {
          await client.query('ROLLBACK').catch((err: unknown) => (broken = err as Error));
        }
        throw e;
      } finally {
        release(broken ?? undefined);
      }
    };
    const prepared = async <R>(name: string, text: string, values: unknown[]): Promise<R[]> => (await pool.query({ name, text, values })).rows as R[];
    return { db, engine: 'postgres', pool, bulkTransaction, prepared, close: () => db.destroy() };
  }
  const pglite = await startPGlite(options);
  const pool = new PGlitePool(pglite);
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: pool as unknown as pg.Pool, cursor: PGLITE_CURSOR }) });
  const bulkTransaction = <T>(fn: (bulk: BulkTransaction) => Promise<T>): Promise<T> =>
    db.transaction().execute(async (tx) => {
      // The transaction holds PGlite's only session (see PGlitePool), so direct statements and COPYs
      // run inside it, in call order.
      const pending = new Pending();
      const copy = (table: string, columns: readonly string[], data: Blob, format: CopyFormat = 'csv') =>
        pglite.query(copySql(table, columns, "'/dev/blob'", format), [], { blob: data }).then(() => undefined);
      const result = await fn({
        executor: tx,
        async copyCsv(table, columns, csv) {
          await copy(table, columns, new Blob([csv]));
        },
        openCopy(table, columns, format) {
          const parts: Buffer[] = [];
          return {
            write(chunk) {
              parts.push(chunk);
              return Promise.resolve();
            },
            end() {
              return pending.add(copy(table, columns, new Blob(parts), format));
            },
          };
        },
        queue(statement, params = []) {
          return pending.add(pglite.query(statement, params as unknown[]).then(() => undefined));
        },
      });
      await pending.all();
      return result;
    });
  const prepared = async <R>(_name: string, text: string, values: unknown[]): Promise<R[]> => (await db.executeQuery<R>(CompiledQuery.raw(text, values))).rows;
  // Kysely ends the pool only if a query ever took a connection from it: a database opened and closed
  // unused would otherwise keep PGlite (and the process) alive.
  const close = async () => {
    await db.destroy();
    if (!pglite.closed) await pglite.close();
  };
  return { db, engine: 'pglite', pool: null, bulkTransaction, prepared, dumpDataDir: () => pglite.dumpDataDir('none'), close };
}
