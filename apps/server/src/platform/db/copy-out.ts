/**
 * `COPY (…) TO STDOUT` through any executor — the pool or an open transaction, PostgreSQL or PGlite —
 * as raw bytes, for readers that want many rows without a JavaScript object per row (audit
 * verification). It rides on Kysely's streaming hook: the dialect's `cursor` class (openDatabase
 * passes one per engine) receives the statement on the executor's own connection, so a transaction's
 * uncommitted rows are seen as its other statements see them.
 *
 * Either engine delivers a COPY's bytes whole (PostgreSQL into one buffer as they arrive, PGlite into
 * a blob with `COPY … TO '/dev/blob'`), so callers keep each COPY to a bounded range of rows.
 */
import { CompiledQuery } from 'kysely';
import type { Executor } from './database.ts';

const COPY_OUT = /^\s*COPY\s+\([\s\S]+\)\s+TO\s+STDOUT\b/i;

function check(text: string, params: readonly unknown[]): void {
  if (params.length > 0 || !COPY_OUT.test(text)) throw new Error('copyOut: only `COPY (query) TO STDOUT …` without parameters');
}

/** The part of pg's Connection a COPY reader drives: the socket and the simple-query message. */
type PgConnection = { stream: NodeJS.ReadableStream & { listeners(e: 'data'): ((b: Buffer) => void)[] }; query(text: string): void };

const COPY_DATA = 0x64; // 'd'
/**
 * PostgreSQL sends a COPY in writes of at most 8 KiB (its send buffer). A reader that keeps up wakes
 * and reads for every few of them, and wakeups and reads are dear on the machines measured. So when
 * a read returns less than libuv's 64-KiB read size — the socket was drained — reading pauses for
 * `COPY_READ_PAUSE_MS` while the kernel gathers the next writes. Reading 100,000 audit payloads
 * (76 MB) took 1,385–2,802 reads without the pause and ~1,190 with it, and this process's CPU per
 * payload fell from 2.8–3.0 µs to 2.0–2.1 (bench/README.md, 2026-11-26 night).
 */
const COPY_READ_FULL = 64 * 1024;
const COPY_READ_PAUSE_MS = 1;
const COPY_DONE = 0x63; // 'c'
const ERROR = 0x45; // 'E'

/**
 * The pg side: a `client.query()` submittable that Kysely reads as a cursor. While the COPY runs it
 * takes the socket over from pg's protocol parser (as pg-copy-streams does) and copies the contents of
 * the CopyData messages straight into one growing buffer — one copy per byte and a few operations per
 * row, where a general-purpose stream costs microseconds per row. At CopyDone, or an error, the socket
 * goes back to pg with whatever followed, and pg finishes the statement as usual.
 */
export class PgCopyOutCursor {
  /** The largest COPY seen so far (capped): the next one starts with room for as much, instead of doubling up to it. */
  private static room = 1 << 20;
  /** Buffers given back by readers that are done with a COPY's bytes (recycleCopyBuffer), reused first. */
  static readonly spare: Buffer[] = [];
  private readonly text: string;
  private out = PgCopyOutCursor.spare.pop() ?? Buffer.allocUnsafe(PgCopyOutCursor.room);
  private length = 0;
  private error: Error | null = null;
  private settled = false;
  private readonly finished: Promise<void>;
  private finish!: () => void;
  private returned = false;

  constructor(text: string, params: unknown[]) {
    check(text, params);
    this.text = text;
    this.finished = new Promise<void>((resolve) => (this.finish = resolve));
  }

  submit(connection: PgConnection): void {
    const socket = connection.stream;
    const [pgData] = socket.listeners('data');
    if (!pgData || socket.listeners('data').length !== 1) throw new Error('copyOut: unexpected pg connection state');
    // Socket chunks are appended whole to `out`; the messages in them are then walked and the CopyData
    // contents moved down in place (copyWithin: no allocation), so that out[0, length) ends up the
    // COPY data alone. `raw` is where the unread protocol bytes start, `end` where they end.
    let raw = 0;
    let end = 0;
    let left = 0; // bytes of the current message still to come
    let keep = false; // the current message is CopyData
    let done = false;
    let pausing = false;
    const resume = () => {
      pausing = false;
      socket.resume();
    };
    const onData = (chunk: Buffer) => {
      walk(chunk);
      if (!done && !pausing && chunk.length < COPY_READ_FULL) {
        pausing = true;
        socket.pause();
        setTimeout(resume, COPY_READ_PAUSE_MS);
      }
    };
    const walk = (chunk: Buffer) => {
      if (end + chunk.length > this.out.length) {
        const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, end + chunk.length));
        bigger.set(this.out.subarray(0, end));
        this.out = bigger;
      }
      const out = this.out;
      out.set(chunk, end);
      end += chunk.length;
      for (;;) {
        if (left > 0) {
          const n = Math.min(left, end - raw);
          if (keep) {
            out.copyWithin(this.length, raw, raw + n);
            this.length += n;
          }
          raw += n;
          left -= n;
          if (left > 0) return;
        }
        if (raw >= end) return;
        if (out[raw] === ERROR) return detach(raw); // pg reads the error itself
        if (end - raw < 5) return; // the rest of the header comes with the next chunk
        const code = out[raw];
        left = out.readUInt32BE(raw + 1) - 4;
        raw += 5;
        keep = code === COPY_DATA;
        if (code === COPY_DONE) return detach(raw + left);
      }
    };
    const detach = (from: number) => {
      done = true;
      socket.removeListener('data', onData);
      socket.on('data', pgData);
      if (from < end) pgData(Buffer.from(this.out.subarray(from, end)));
    };
    socket.removeListener('data', pgData);
    socket.on('data', onData);
    connection.query(this.text);
  }

  // What pg's Client calls on the active query once the socket is its own again.
  handleError(err: Error): void {
    // pg drops a failed query at once (ReadyForQuery goes to no one): settle here.
    this.error ??= err;
    this.handleReadyForQuery();
  }
  handleCommandComplete(): void {}
  handleReadyForQuery(): void {
    if (this.settled) return;
    this.settled = true;
    PgCopyOutCursor.room = Math.min(64 << 20, Math.max(PgCopyOutCursor.room, this.length + (this.length >> 3)));
    this.finish();
  }

  /** Kysely's cursor protocol: all the bytes at once (a bounded range), then nothing. */
  async read(): Promise<Buffer[]> {
    await this.finished;
    if (this.error) throw this.error;
    if (this.returned) return [];
    this.returned = true;
    return [this.out.subarray(0, this.length)];
  }

  async close(): Promise<void> {
    await this.finished;
  }
}

/**
 * Gives the memory of a COPY's bytes back, for the next COPY on PostgreSQL to be read into instead of
 * a new buffer (a reader of many large COPYs — the export's batches — would otherwise leave a large
 * buffer per COPY for the garbage collector). Only for memory nothing else uses any more; small
 * buffers, and more than a few, are left to the collector.
 */
export function recycleCopyBuffer(memory: ArrayBuffer): void {
  if (memory.byteLength >= 1 << 20 && PgCopyOutCursor.spare.length < 4) PgCopyOutCursor.spare.push(Buffer.from(memory));
}

/** Lets the collector have the spare buffers (a reader of many COPYs calls it when it is done). */
export function dropCopyBuffers(): void {
  PgCopyOutCursor.spare.length = 0;
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
