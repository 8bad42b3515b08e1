/**
 * SIEM destinations. `send` hands a batch over and returns a receipt whose `confirmed` settles when
 * the destination has acknowledged the batch, in the strongest sense its protocol offers; a rejected
 * send or confirmation means nothing of the batch counts as delivered and it is sent again.
 *
 * - HTTPS: a 2xx answer to the POST of the batch (Idempotency-Key = the batch's first seq).
 * - JSON Lines file: written and fsynced; the file itself is the cursor (the last complete line's seq),
 *   a torn last line is cut off on resume, so each seq is written exactly once.
 * - Syslog over TLS (RFC 5425) has no acknowledgement at all. A completed write only means the bytes
 *   reached our kernel, and a receiver that drops the connection loses what sat in its buffers, so
 *   "advance once the write flushed" leaves gaps (we measured it: a receiver resetting after 130 KB
 *   of a 1 MB write, while our write had long "succeeded"). So a batch counts as delivered only once
 *   the connection has stayed up for a settle time (default 2 s) after the batch was flushed; any
 *   close, reset or error before that fails every batch not yet confirmed, and they are sent again on
 *   a new connection. At least once: receivers de-duplicate by seq; duplicates per disconnection are
 *   bounded by what was flushed in the last settle time (at most `maxInflight` batches).
 *   Not covered (no sender can see it without an application ack): a receiver that is more than the
 *   settle time behind when it fails, or a black-holed network that swallows the kernel's send buffer.
 *   The SIEM sees such a loss as a gap in seq, and `mamori audit export --from --to` fills it.
 *
 * TLS always verifies the peer's certificate chain and name (never `rejectUnauthorized: false`).
 */
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { mkdir, open, readFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import type { SiemConfig, TlsFiles } from '../../config/config.ts';
import { jsonlLine, octetCounted, syslogMessage, type ExportEvent } from './audit.export-format.ts';
import type { ExportKind } from './audit.export-repository.ts';

export type DeliveryInfo = { treeSize: number; signal: AbortSignal };

/** `confirmed` resolves once the destination acknowledged the batch, rejects if it never will. */
export type Receipt = { confirmed: Promise<void> };

export type ExportSink = {
  /** The cursor's key: kind and target, never credentials. */
  readonly id: string;
  readonly kind: ExportKind;
  /** Where the events go, for people (host:port, URL without query, file path). */
  readonly target: string;
  /** Batches that may be sent while earlier ones await confirmation (1: one at a time). */
  readonly maxInflight: number;
  /** The first seq to send, given the stored cursor; a destination that knows better (a file) says so. */
  resumeFrom?(stored: number): Promise<number>;
  send(events: readonly ExportEvent[], info: DeliveryInfo): Promise<Receipt>;
  /** After a failure: drop any connection, so the next send starts afresh. */
  reset?(): void;
  close?(): Promise<void>;
};

const CONFIRMED: Receipt = { confirmed: Promise.resolve() };

export type TlsMaterial = { ca?: Buffer; cert?: Buffer; key?: Buffer };

async function readTls(files: TlsFiles): Promise<TlsMaterial> {
  return {
    ...(files.caFile ? { ca: await readFile(files.caFile) } : {}),
    ...(files.certFile ? { cert: await readFile(files.certFile) } : {}),
    ...(files.keyFile ? { key: await readFile(files.keyFile) } : {}),
  };
}

/** Error messages kept for status and logs: one line, short, no payload (never an event's contents). */
export function describeError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const code = typeof e?.code === 'string' && !message.includes(e.code) ? `${e.code}: ` : '';
  return `${code}${message}`.replace(/\s+/g, ' ').slice(0, 300);
}

// ------------------------------------------------------------------------------------------------
// Syslog over TLS
// ------------------------------------------------------------------------------------------------

export type SyslogSinkOptions = {
  host: string;
  port: number;
  hostname: string;
  origin: string;
  tls: TlsMaterial;
  /** How long the connection must stay up after a batch was flushed for the batch to count as delivered. */
  settleMs?: number;
  maxInflight?: number;
  /** Connecting, and a write the kernel does not take, give up after this long. */
  timeoutMs?: number;
};

type Connection = { socket: tls.TLSSocket; failure: Error | null; pending: Set<(err: Error) => void>; writing: boolean };

export function syslogSink(o: SyslogSinkOptions): ExportSink {
  const target = `${net.isIPv6(o.host) ? `[${o.host}]` : o.host}:${o.port}`;
  const settleMs = o.settleMs ?? 2000;
  const timeoutMs = o.timeoutMs ?? 15_000;
  let conn: Connection | null = null;
  // A connection that failed with batches still settling: no new connection until the exporter has
  // seen the failure and reset, so nothing is sent past a batch that will be sent again anyway.
  let broken: Error | null = null;

  const fail = (c: Connection, err: Error) => {
    if (c.failure) return;
    c.failure = err;
    if (conn === c) conn = null;
    if (c.pending.size > 0 || c.writing) broken ??= err;
    for (const reject of c.pending) reject(err);
    c.pending.clear();
    c.socket.destroy();
  };

  const connect = (signal: AbortSignal) =>
    new Promise<Connection>((resolve, reject) => {
      const socket = tls.connect({
        host: o.host,
        port: o.port,
        ...(net.isIP(o.host) ? {} : { servername: o.host }),
        ...o.tls,
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
      });
      const c: Connection = { socket, failure: null, pending: new Set(), writing: false };
      let up = false;
      const onAbort = () => fail(c, new Error('export stopped'));
      signal.addEventListener('abort', onAbort, { once: true });
      socket.setTimeout(timeoutMs, () => fail(c, new Error(up ? 'the receiver takes no more data' : 'connection timeout')));
      socket.once('secureConnect', () => {
        up = true;
        socket.setTimeout(0);
        socket.setKeepAlive(true, 30_000);
        signal.removeEventListener('abort', onAbort);
        resolve(c);
      });
      // A syslog receiver sends nothing; whatever comes is read and dropped so that 'end' can arrive.
      socket.on('data', () => undefined);
      socket.on('end', () => fail(c, new Error('the receiver closed the connection')));
      socket.on('error', (err) => fail(c, err));
      socket.on('close', () => {
        fail(c, new Error('the connection closed'));
        signal.removeEventListener('abort', onAbort);
        if (!up) reject(c.failure);
      });
    });

  return {
    id: `syslog:${target}`,
    kind: 'syslog',
    target,
    maxInflight: o.maxInflight ?? 64,
    async send(events, info) {
      if (broken) throw broken;
      const c = conn && !conn.failure ? conn : (conn = await connect(info.signal));
      const frames = Buffer.concat(events.map((e) => octetCounted(syslogMessage(e, { hostname: o.hostname, treeSize: info.treeSize, origin: o.origin }))));
      const onAbort = () => fail(c, new Error('export stopped'));
      info.signal.addEventListener('abort', onAbort, { once: true });
      try {
        c.writing = true;
        await new Promise<void>((resolve, reject) => {
          // The kernel not taking the bytes for this long is a dead receiver, not a slow one.
          c.socket.setTimeout(timeoutMs);
          c.socket.write(frames, (err) => {
            c.writing = false;
            c.socket.setTimeout(0);
            if (err) reject(err);
            else if (c.failure) reject(c.failure);
            else resolve();
          });
        });
      } finally {
        info.signal.removeEventListener('abort', onAbort);
      }
      const confirmed = new Promise<void>((resolve, reject) => {
        const onFail = (err: Error) => {
          clearTimeout(timer);
          reject(err);
        };
        const timer = setTimeout(() => {
          c.pending.delete(onFail);
          if (c.failure) reject(c.failure);
          else resolve();
        }, settleMs);
        c.pending.add(onFail);
      });
      confirmed.catch(() => undefined);
      return { confirmed };
    },
    reset() {
      if (conn) fail(conn, new Error('reset after a failure'));
      broken = null;
    },
    async close() {
      const c = conn;
      if (!c) return;
      conn = null;
      // Batches still settling are not confirmed: they are sent again after the restart.
      for (const reject of c.pending) reject(new Error('export stopped'));
      c.pending.clear();
      c.failure ??= new Error('export stopped');
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => c.socket.destroy(), 2000);
        c.socket.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        if (c.socket.destroyed) resolve();
        else c.socket.end();
      });
    },
  };
}

// ------------------------------------------------------------------------------------------------
// HTTPS JSON Lines
// ------------------------------------------------------------------------------------------------

export type HttpsSinkOptions = { url: string; authorization: string | null; origin: string; tls: TlsMaterial; timeoutMs?: number };

export function httpsSink(o: HttpsSinkOptions): ExportSink {
  const u = new URL(o.url);
  const target = `${u.origin}${u.pathname}`;
  const agent = new https.Agent({ keepAlive: true, ...o.tls, rejectUnauthorized: true, minVersion: 'TLSv1.2' });
  return {
    id: `https:${target}`,
    kind: 'https',
    target,
    maxInflight: 1,
    async send(events, info) {
      const first = events[0]!.seq;
      const last = events.at(-1)!.seq;
      const body = Buffer.from(events.map(jsonlLine).join('\n') + '\n', 'utf8');
      await new Promise<void>((resolve, reject) => {
        const req = https.request(u, {
          method: 'POST',
          agent,
          signal: info.signal,
          timeout: o.timeoutMs ?? 30_000,
          headers: {
            'content-type': 'application/x-ndjson; charset=utf-8',
            'content-length': String(body.length),
            // The batch [first, last] is pinned before it is first sent, so this key always names the same events.
            'idempotency-key': String(first),
            'x-mamori-seq-first': String(first),
            'x-mamori-seq-last': String(last),
            'x-mamori-tree-size': String(info.treeSize),
            'x-mamori-log-origin': o.origin,
            ...(o.authorization ? { authorization: o.authorization } : {}),
          },
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', reject);
        req.on('response', (res) => {
          // The body is not read into any message: a receiver's error page could echo events.
          res.resume();
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve();
            else reject(new Error(`the receiver answered ${status}`));
          });
          res.on('error', reject);
        });
        req.end(body);
      });
      return CONFIRMED;
    },
    async close() {
      agent.destroy();
    },
  };
}

// ------------------------------------------------------------------------------------------------
// JSON Lines file
// ------------------------------------------------------------------------------------------------

/**
 * Where a JSON Lines export file stands: cuts a torn last line (a crash mid-write) and returns the
 * seq after the last complete line, or null for a missing or empty file.
 */
export async function repairJsonlFile(file: string): Promise<number | null> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r+');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const size = (await fh.stat()).size;
    // Read backwards until the last two newlines (the end of the last complete line and its start).
    const CHUNK = 64 * 1024;
    let tail = Buffer.alloc(0);
    let pos = size;
    let lastNl = -1;
    let prevNl = -1;
    while (pos > 0) {
      const n = Math.min(CHUNK, pos);
      pos -= n;
      const buf = Buffer.alloc(n);
      await fh.read(buf, 0, n, pos);
      tail = Buffer.concat([buf, tail]);
      lastNl = tail.lastIndexOf(0x0a);
      prevNl = lastNl > 0 ? tail.lastIndexOf(0x0a, lastNl - 1) : -1;
      if (prevNl >= 0) break;
    }
    if (lastNl < 0) {
      // No complete line at all: whatever is there is a torn first line.
      if (size > 0) await fh.truncate(0);
      return null;
    }
    const end = pos + lastNl + 1;
    if (end < size) await fh.truncate(end);
    const line = tail.subarray(prevNl + 1, lastNl).toString('utf8');
    let seq: unknown;
    try {
      seq = (JSON.parse(line) as { seq?: unknown }).seq;
    } catch {
      seq = undefined;
    }
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) throw new Error('the last line of the JSON Lines export file is not an exported event');
    return seq + 1;
  } finally {
    await fh.close();
  }
}

export function fileSink(file: string): ExportSink {
  const target = `${os.hostname()}:${file}`;
  return {
    // A file is local to its node: each node exports its own.
    id: `file:${target}`,
    kind: 'file',
    target,
    maxInflight: 1,
    async resumeFrom(stored) {
      // The file is the truth while it has lines; empty or missing (rotated away), the cursor continues.
      return (await repairJsonlFile(file)) ?? stored;
    },
    async send(events) {
      await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      const fh = await open(file, 'a', 0o600);
      const before = (await fh.stat()).size;
      try {
        await fh.writeFile(events.map(jsonlLine).join('\n') + '\n', 'utf8');
        await fh.datasync();
      } catch (e) {
        // Nothing half-written stays: the batch is written again whole.
        await fh.truncate(before).catch(() => undefined);
        throw e;
      } finally {
        await fh.close();
      }
      return CONFIRMED;
    },
  };
}

// ------------------------------------------------------------------------------------------------

/** The configured destinations; reads the TLS files now, so a bad path stops the start-up. */
export async function createSinks(siem: SiemConfig, origin: string): Promise<ExportSink[]> {
  const sinks: ExportSink[] = [];
  if (siem.syslog) {
    const { host, port, hostname, settleMs } = siem.syslog;
    sinks.push(syslogSink({ host, port, hostname, settleMs, origin, tls: await readTls(siem.syslog) }));
  }
  if (siem.https) sinks.push(httpsSink({ url: siem.https.url, authorization: siem.https.authorization, origin, tls: await readTls(siem.https) }));
  if (siem.file) sinks.push(fileSink(siem.file));
  return sinks;
}
