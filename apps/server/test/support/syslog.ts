/**
 * A real syslog-over-TLS receiver (RFC 5425) for tests, and a strict RFC 5424 parser. The receiver
 * parses octet-counted frames from each connection and can drop connections on purpose: after a
 * given number of messages on a connection it resets the TCP connection (RST), as a receiver that
 * crashes or a middlebox that cuts the line would.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { TestPki } from './tls.ts';

export type SyslogMessage = {
  pri: number;
  version: number;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  sd: { id: string; params: Record<string, string> }[];
  /** MSG bytes, BOM included when present. */
  msg: Buffer;
};

/** Splits octet-counted frames (`LEN SP MSG`); returns the complete ones and the unconsumed rest. */
export function splitFrames(buf: Buffer): { frames: Buffer[]; rest: Buffer } {
  const frames: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const sp = buf.indexOf(0x20, pos);
    if (sp < 0) break;
    const lenText = buf.subarray(pos, sp).toString('ascii');
    if (!/^[1-9]\d{0,8}$/.test(lenText)) throw new Error(`bad octet count ${JSON.stringify(lenText.slice(0, 20))}`);
    const len = Number(lenText);
    if (buf.length < sp + 1 + len) break;
    frames.push(buf.subarray(sp + 1, sp + 1 + len));
    pos = sp + 1 + len;
  }
  return { frames, rest: buf.subarray(pos) };
}

/** Parses one RFC 5424 SYSLOG-MSG strictly (header, STRUCTURED-DATA with escapes, MSG). */
export function parseRfc5424(m: Buffer): SyslogMessage {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`RFC 5424: ${what} at byte ${i}`);
  };
  const token = (): string => {
    const sp = m.indexOf(0x20, i);
    if (sp < 0) fail('missing SP');
    const t = m.subarray(i, sp).toString('ascii');
    i = sp + 1;
    return t;
  };
  if (m[i] !== 0x3c) fail('missing <');
  const gt = m.indexOf(0x3e, i);
  const priText = m.subarray(1, gt).toString('ascii');
  if (!/^(0|[1-9]\d{0,2})$/.test(priText) || Number(priText) > 191) fail('bad PRI');
  i = gt + 1;
  const version = token();
  if (!/^[1-9]\d{0,2}$/.test(version)) fail('bad VERSION');
  const timestamp = token();
  if (timestamp !== '-' && !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/.test(timestamp)) fail('bad TIMESTAMP');
  const field = (max: number, name: string) => {
    const t = token();
    if (!/^[\x21-\x7e]+$/.test(t) || t.length > max) fail(`bad ${name}`);
    return t;
  };
  const hostname = field(255, 'HOSTNAME');
  const appName = field(48, 'APP-NAME');
  const procId = field(128, 'PROCID');
  const msgId = field(32, 'MSGID');
  const sd: SyslogMessage['sd'] = [];
  if (m[i] === 0x2d) i += 1;
  else {
    while (m[i] === 0x5b) {
      i += 1;
      const nameEnd = (stop: number[]) => {
        const start = i;
        while (i < m.length && !stop.includes(m[i]!)) {
          if (m[i]! < 0x21 || m[i]! > 0x7e || m[i] === 0x3d || m[i] === 0x5d || m[i] === 0x22) fail('bad SD-NAME');
          i += 1;
        }
        if (i === start || i - start > 32) fail('bad SD-NAME length');
        return m.subarray(start, i).toString('ascii');
      };
      const id = nameEnd([0x20, 0x5d]);
      const params: Record<string, string> = {};
      while (m[i] === 0x20) {
        i += 1;
        const name = nameEnd([0x3d]);
        if (m[i] !== 0x3d || m[i + 1] !== 0x22) fail('expected ="');
        i += 2;
        const bytes: number[] = [];
        for (;;) {
          const c = m[i];
          if (c === undefined) fail('unterminated PARAM-VALUE');
          if (c === 0x5c && (m[i + 1] === 0x22 || m[i + 1] === 0x5c || m[i + 1] === 0x5d)) {
            bytes.push(m[i + 1]!);
            i += 2;
          } else if (c === 0x22) {
            i += 1;
            break;
          } else if (c === 0x5d) fail('unescaped ] in PARAM-VALUE');
          else {
            bytes.push(c!);
            i += 1;
          }
        }
        params[name] = Buffer.from(bytes).toString('utf8');
      }
      if (m[i] !== 0x5d) fail('expected ]');
      i += 1;
      sd.push({ id, params });
    }
    if (sd.length === 0) fail('bad STRUCTURED-DATA');
  }
  let msg: Buffer = Buffer.alloc(0);
  if (i < m.length) {
    if (m[i] !== 0x20) fail('expected SP before MSG');
    msg = m.subarray(i + 1);
  }
  return { pri: Number(priText), version: Number(version), timestamp, hostname, appName, procId, msgId, sd, msg };
}

export type SyslogReceiver = {
  port: number;
  /** Every message parsed, in arrival order, with the connection it came on. */
  messages: { conn: number; message: SyslogMessage }[];
  /** Connections accepted so far, and how many were reset on purpose. */
  connections: number;
  resets: number;
  /** Problems (bad framing, bad RFC 5424): a correct sender never causes any. */
  errors: string[];
  close(): Promise<void>;
};

/**
 * `dropAfter(conn)` → reset connection number `conn` (1-based) once it has delivered that many
 * messages; undefined keeps it.
 */
export async function startSyslogReceiver(pki: TestPki, opts: { dropAfter?: (conn: number) => number | undefined } = {}): Promise<SyslogReceiver> {
  const secureContext = tls.createSecureContext({ cert: pki.cert, key: pki.key });
  const sockets = new Set<net.Socket>();
  const r: SyslogReceiver = {
    port: 0, messages: [], connections: 0, resets: 0, errors: [],
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
  const server = net.createServer((raw) => {
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    const conn = ++r.connections;
    const limit = opts.dropAfter?.(conn);
    const socket = new tls.TLSSocket(raw, { isServer: true, secureContext });
    let buf: Buffer = Buffer.alloc(0);
    let got = 0;
    let dropped = false;
    socket.on('error', () => undefined);
    raw.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      if (dropped) return;
      buf = Buffer.concat([buf, chunk]);
      let split: ReturnType<typeof splitFrames>;
      try {
        split = splitFrames(buf);
      } catch (e) {
        r.errors.push((e as Error).message);
        dropped = true;
        raw.destroy();
        return;
      }
      buf = split.rest;
      for (const f of split.frames) {
        try {
          r.messages.push({ conn, message: parseRfc5424(f) });
        } catch (e) {
          r.errors.push((e as Error).message);
        }
        got += 1;
        if (limit !== undefined && got >= limit) {
          // Whatever else arrived on this connection is lost with it, as in a crash.
          dropped = true;
          r.resets += 1;
          raw.resetAndDestroy();
          return;
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.port = (server.address() as net.AddressInfo).port;
  return r;
}
