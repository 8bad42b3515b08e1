/**
 * `COPY (…) TO STDOUT` through any executor — the pool or an open transaction, PostgreSQL or PGlite —
 * as raw bytes, for readers that want many rows without a JavaScript object per row (audit
 * verification). It rides on Kysely's streaming hook: the dialect's `cursor` class (openDatabase
 * passes one per engine) receives the statement on the executor's own connection, so a transaction's
 * uncommitted rows are seen as its other statements see them.
 *
 * PostgreSQL streams the bytes as they come (pg-copy-streams); PGlite writes them whole to a blob
 * (`COPY … TO '/dev/blob'`), so callers there keep each COPY to a bounded range of rows.
 */
import { CompiledQuery } from 'kysely';
import { to as copyTo } from 'pg-copy-streams';
import type { Executor } from './database.ts';

const COPY_OUT = /^\s*COPY\s+\([\s\S]+\)\s+TO\s+STDOUT\b/i;

function check(text: string, params: readonly unknown[]): void {
  if (params.length > 0 || !COPY_OUT.test(text)) throw new Error('copyOut: only `COPY (query) TO STDOUT …` without parameters');
}

type Submittable = { submit(connection: unknown): void };
/** What pg's Client calls on the active query while a COPY runs (implemented by pg-copy-streams). */
type CopyProtocol = Submittable & { handleError(err: Error): void; handleCommandComplete(msg: unknown): void; handleReadyForQuery(): void };

/** The pg side: a `client.query()` submittable (the COPY stream) that Kysely reads as a cursor of Buffers. */
export class PgCopyOutCursor implements Submittable {
  private readonly stream: ReturnType<typeof copyTo>;
  private readonly protocol: CopyProtocol;
  private readonly chunks: AsyncIterator<Buffer>;
  private done = false;

  constructor(text: string, params: unknown[]) {
    check(text, params);
    this.stream = copyTo(text);
    this.protocol = this.stream as unknown as CopyProtocol;
    this.chunks = this.stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  // pg's Client drives a submittable through these; the COPY stream implements them.
  submit(connection: unknown): void {
    this.protocol.submit(connection);
  }
  handleError(err: Error): void {
    this.protocol.handleError(err);
  }
  handleCommandComplete(msg: unknown): void {
    this.protocol.handleCommandComplete(msg);
  }
  handleReadyForQuery(): void {
    this.protocol.handleReadyForQuery();
  }

  /** Kysely's cursor protocol: the next chunk of bytes, or nothing at the end. */
  async read(): Promise<Buffer[]> {
    if (this.done) return [];
    const r = await this.chunks.next();
    if (r.done) this.done = true;
    return r.done ? [] : [r.value];
  }

  /** A COPY cannot be abandoned halfway on a live connection: read what is left. */
  async close(): Promise<void> {
    try {
      while (!this.done) await this.read();
    } catch {
      // The statement failed; pg has already reported it and the connection is usable again.
    }
  }
}

/** The PGlite side: PGlitePool's client recognises it and runs the COPY into a blob. */
export class PGliteCopyOut {
  readonly text: string;
  private result: Promise<Buffer> | null = null;
  private done = false;

  constructor(text: string, params: unknown[]) {
    check(text, params);
    this.text = text.replace(/\bTO\s+STDOUT\b/i, "TO '/dev/blob'");
  }

  start(run: (text: string) => Promise<Buffer>): this {
    this.result = run(this.text);
    this.result.catch(() => undefined); // observed by read()
    return this;
  }

  async read(): Promise<Buffer[]> {
    if (this.done || !this.result) return [];
    this.done = true;
    return [await this.result];
  }

  async close(): Promise<void> {
    await this.result?.catch(() => undefined);
  }
}

/** The bytes a `COPY (query) TO STDOUT (…)` statement writes, chunk by chunk, on `db`'s connection. */
export async function* copyOut(db: Executor, statement: string): AsyncGenerator<Buffer> {
  for await (const r of db.getExecutor().stream<Buffer>(CompiledQuery.raw(statement), 1)) yield* r.rows;
}

/** All of it at once (for ranges that fit in memory). */
export async function copyOutAll(db: Executor, statement: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of copyOut(db, statement)) chunks.push(c);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
