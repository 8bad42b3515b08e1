/**
 * SIEM export against real TLS peers: a syslog-over-TLS receiver that resets connections mid-stream,
 * an HTTPS receiver that answers 500, receivers with certificates Mamori must not trust, a JSON Lines
 * file torn by a crash, a restart on the same database, and two exporters for one destination.
 * Every test checks the stream against the log itself: seq = log index, 0..N-1, no gap.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase, type Database } from '../src/platform/db/database.ts';
import type { AppContext } from '../src/platform/context.ts';
import { systemClock } from '../src/platform/clock.ts';
import { ephemeralSigningKey } from '../src/platform/crypto/signing-key.ts';
import { keyringFromBase64 } from '../src/platform/crypto/keyring.ts';
import { createLogger } from '../src/platform/logger.ts';
import { appendAudit, auditRepository, leafHash, sequenceAll, startExporter, syslogSink, httpsSink, fileSink, type ExportSink } from '../src/modules/audit/index.ts';
import { exportRepository } from '../src/modules/audit/audit.export-repository.ts';
import { SD_ID } from '../src/modules/audit/audit.export-format.ts';
import { systemActor } from '../src/modules/identity/index.ts';
import { openTestDatabase, type TestDatabase } from './support/database.ts';
import { testPki, type TestPki } from './support/tls.ts';
import { startSyslogReceiver } from './support/syslog.ts';
import { loadConfig } from '../src/config/config.ts';
import { startSiemExport } from '../src/jobs/siem-export.ts';

const ORIGIN = 'mamori.test/audit';
const KEY = ephemeralSigningKey(ORIGIN);
const actor = systemActor({ ip: '127.0.0.1', userAgent: 'siem-test', deviceId: null });

let database: TestDatabase;
let ctx: AppContext;
let pki: TestPki;
let dir: string;
const extraDatabases: Database[] = [];

function contextOn(db: Database): AppContext {
  return {
    database: db, db: db.db, clock: systemClock, keyring: keyringFromBase64(Buffer.alloc(32, 1).toString('base64')), logger: createLogger('silent'),
    auditLog: { key: KEY, origin: ORIGIN, witnesses: [] }, settings: { sessionIdleMinutes: 30, sessionAbsoluteHours: 12 },
  };
}

/** A second node on the same database: its own pool on PostgreSQL; on PGlite the engine is the process's one. */
async function secondNode(): Promise<AppContext> {
  if (!database.url) return contextOn(database);
  const db = await openDatabase({ databaseUrl: database.url, poolSize: 4 });
  extraDatabases.push(db);
  return contextOn(db);
}

/** Appends `n` events (allowed and denied, with characters syslog must escape or carry as UTF-8) and integrates them. */
async function appendEvents(n: number): Promise<number> {
  for (let i = 0; i < n; i += 50) {
    await ctx.db.transaction().execute(async (tx) => {
      for (let k = i; k < Math.min(n, i + 50); k++) {
        await appendAudit(tx, ctx.clock, actor, {
          action: k % 3 === 0 ? 'record.read' : 'audit.read', decision: k % 5 === 0 ? 'deny' : 'allow', rule: 'test',
          reason: `reason "quoted" ] \\ 理由 ${k}`, result: 'ok', details: { k, note: '監査ログ転送テスト' },
        });
      }
    });
  }
  return (await sequenceAll(ctx.db, ctx.clock, { key: KEY, origin: ORIGIN })).treeSize;
}

async function logPayloads(size: number): Promise<string[]> {
  const rows = await auditRepository(ctx.db).integratedRange(0, size);
  assert.equal(rows.length, size);
  return rows.map((r) => r.payload);
}

/** Polls a condition of the database or a receiver (not a timing assertion: it only waits, with a generous ceiling). */
async function waitFor(what: string, cond: () => Promise<boolean> | boolean, ms = 90_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The cursor row; it appears once the exporter started, so conditions read it as optional. */
const row = (id: string) => exportRepository(ctx.db).get(id);
const cursor = async (id: string) => {
  const r = await row(id);
  assert.ok(r, `cursor row ${id}`);
  return r;
};

before(async () => {
  database = await openTestDatabase();
  ctx = contextOn(database);
  pki = await testPki();
  dir = await mkdtemp(path.join(tmpdir(), 'mamori-siem-'));
});

after(async () => {
  for (const db of extraDatabases) await db.close();
  await database.drop();
  await rm(dir, { recursive: true, force: true });
});

// ------------------------------------------------------------------------------------------------

test('syslog over TLS: every event arrives as RFC 5424 with octet counting; resets mid-stream leave no gap', { timeout: 240_000 }, async () => {
  const size = await appendEvents(1200);
  const payloads = await logPayloads(size);
  const DROPS = new Map([[1, 150], [2, 40], [3, 333], [4, 1]]);
  const receiver = await startSyslogReceiver(pki, { dropAfter: (conn) => DROPS.get(conn) });
  const BATCH = 100;
  const MAX_INFLIGHT = 4;
  const sink = syslogSink({ host: '127.0.0.1', port: receiver.port, hostname: 'mamori-node-1', origin: ORIGIN, tls: { ca: Buffer.from(pki.ca) }, settleMs: 1000, maxInflight: MAX_INFLIGHT });
  const exporter = startExporter(ctx, sink, { batch: BATCH, pollMs: 20, backoffMs: 20, maxBackoffMs: 200 });
  try {
    await waitFor('the syslog cursor to reach the tree size', async () => (await row(sink.id))?.next_seq === size);
  } finally {
    await exporter.stop();
    await receiver.close();
  }

  assert.deepEqual(receiver.errors, [], 'framing and RFC 5424 syntax are correct');
  assert.equal(receiver.resets, DROPS.size, 'the receiver reset the connection mid-stream as planned');
  assert.ok(receiver.connections > DROPS.size, 'the exporter reconnected after each reset');

  const seen = new Map<number, number>();
  for (const { message: m } of receiver.messages) {
    assert.equal(m.version, 1);
    assert.equal(m.appName, 'mamori');
    assert.equal(m.hostname, 'mamori-node-1');
    assert.equal(m.procId, '-');
    assert.equal(m.sd.length, 1);
    assert.equal(m.sd[0]!.id, SD_ID);
    const p = m.sd[0]!.params;
    const seq = Number(p.seq);
    assert.ok(Number.isInteger(seq) && seq >= 0 && seq < size, `seq ${p.seq}`);
    assert.deepEqual(m.msg.subarray(0, 3), Buffer.from([0xef, 0xbb, 0xbf]), 'MSG is UTF-8 with a BOM');
    const payload = m.msg.subarray(3).toString('utf8');
    assert.equal(payload, payloads[seq], `MSG of seq ${seq} is the canonical event bytes`);
    const event = JSON.parse(payload) as { action: string; decision: string; at: string };
    assert.equal(m.msgId, event.action);
    assert.equal(m.pri, 13 * 8 + (event.decision === 'deny' ? 5 : 6), 'facility log audit, severity by decision');
    assert.equal(m.timestamp, event.at);
    assert.equal(p.leafHash, leafHash(Buffer.from(payload, 'utf8')).toString('base64'));
    assert.ok(Number(p.treeSize) >= seq + 1 && Number(p.treeSize) <= size);
    assert.equal(p.origin, ORIGIN);
    seen.set(seq, (seen.get(seq) ?? 0) + 1);
  }
  const missing = Array.from({ length: size }, (_, i) => i).filter((i) => !seen.has(i));
  assert.deepEqual(missing, [], 'the union of received seqs is exactly 0..N-1: no gap');
  const duplicates = receiver.messages.length - size;
  // At least once: each reset can cost at most the batches still settling (MAX_INFLIGHT × BATCH).
  assert.ok(duplicates <= receiver.resets * MAX_INFLIGHT * BATCH, `${duplicates} duplicates within the bound`);
  const c = await cursor(sink.id);
  assert.equal(c.inflight_to, null);
  assert.ok(c.last_success_at);
  assert.ok(c.last_error, 'the resets were recorded as errors');
});

test('syslog: a receiver whose certificate Mamori does not trust gets nothing and nothing is marked exported', { timeout: 120_000 }, async () => {
  const receiver = await startSyslogReceiver(pki);
  // No CA given: the system roots, which do not include the test CA.
  const sink = syslogSink({ host: '127.0.0.1', port: receiver.port, hostname: 'h', origin: ORIGIN, tls: {} });
  const exporter = startExporter(ctx, sink, { batch: 100, pollMs: 20, backoffMs: 20, maxBackoffMs: 100 });
  try {
    await waitFor('the certificate error to be recorded', async () => typeof (await row(sink.id))?.last_error === 'string');
  } finally {
    await exporter.stop();
    await receiver.close();
  }
  const c = await cursor(sink.id);
  assert.match(c.last_error!, /certificate/i);
  assert.equal(c.next_seq, 0, 'nothing is marked exported');
  assert.equal(c.last_success_at, null);
  assert.equal(receiver.messages.length, 0, 'the receiver got no event');
});

// ------------------------------------------------------------------------------------------------

type Post = { key: string; first: number; last: number; body: string; status: number };

async function startHttpsReceiver(answer: (key: string, attempt: number) => number, opts: { cert?: string; key?: string } = {}) {
  const posts: Post[] = [];
  const attempts = new Map<string, number>();
  const server = https.createServer({ cert: opts.cert ?? pki.cert, key: opts.key ?? pki.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const key = String(req.headers['idempotency-key']);
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      const status = req.method === 'POST' && req.headers['content-type']?.startsWith('application/x-ndjson') ? answer(key, attempt) : 400;
      posts.push({ key, first: Number(req.headers['x-mamori-seq-first']), last: Number(req.headers['x-mamori-seq-last']), body: Buffer.concat(chunks).toString('utf8'), status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/ingest`,
    posts,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Checks accepted batches against the log: each line `{"seq","leafHash","event"}`, seqs 0..size-1 exactly once. */
function assertAcceptedExactlyOnce(posts: Post[], payloads: string[]): void {
  const seqs: number[] = [];
  for (const p of posts.filter((x) => x.status >= 200 && x.status < 300)) {
    const lines = p.body.split('\n');
    assert.equal(lines.pop(), '', 'the body ends with a newline');
    lines.forEach((line, i) => {
      const l = JSON.parse(line) as { seq: number; leafHash: string; event: unknown };
      assert.deepEqual(Object.keys(l), ['seq', 'leafHash', 'event']);
      assert.equal(l.seq, p.first + i);
      assert.equal(JSON.stringify(l.event), payloads[l.seq], 'the event is the canonical bytes, verbatim');
      assert.equal(l.leafHash, leafHash(Buffer.from(payloads[l.seq]!, 'utf8')).toString('base64'));
      seqs.push(l.seq);
    });
    assert.equal(p.key, String(p.first), 'Idempotency-Key is the first seq');
    assert.equal(p.last, p.first + lines.length - 1);
  }
  assert.deepEqual(seqs, Array.from({ length: payloads.length }, (_, i) => i), 'every seq accepted once, in order, no gap');
}

test('HTTPS JSON Lines: a 500 makes the exporter retry the same batch (same key, same bytes), also across a restart on the same database', { timeout: 240_000 }, async () => {
  const size = await auditRepository(ctx.db).treeSize();
  const FAIL_KEY = '250';
  let accepting = false;
  const receiver = await startHttpsReceiver((key) => (key === FAIL_KEY && !accepting ? 500 : 204));
  const sinkOf = () => httpsSink({ url: receiver.url, authorization: null, origin: ORIGIN, tls: { ca: Buffer.from(pki.ca) } });
  const first = sinkOf();
  const exporter1 = startExporter(ctx, first, { batch: 50, pollMs: 20, backoffMs: 20, maxBackoffMs: 100 });
  try {
    await waitFor('three failed attempts of the batch at 250', () => receiver.posts.filter((p) => p.key === FAIL_KEY).length >= 3);
  } finally {
    await exporter1.stop();
  }
  const stuck = await cursor(first.id);
  assert.equal(stuck.next_seq, 250, 'the cursor waits at the failing batch: nothing skipped');
  assert.equal(stuck.inflight_to, 300, 'the failing batch is pinned');
  assert.match(stuck.last_error!, /500/);

  // A restart: a new context (another pool on PostgreSQL) with another batch size continues from the cursor.
  const node2 = await secondNode();
  const second = sinkOf();
  assert.equal(second.id, first.id);
  const postsBefore = receiver.posts.length;
  const exporter2 = startExporter(node2, second, { batch: 70, pollMs: 20, backoffMs: 20, maxBackoffMs: 100 });
  try {
    await waitFor('a retry after the restart', () => receiver.posts.length > postsBefore);
    accepting = true;
    await waitFor('the HTTPS cursor to reach the tree size', async () => (await row(first.id))?.next_seq === size);
  } finally {
    await exporter2.stop();
    await receiver.close();
  }
  const afterRestart = receiver.posts.slice(postsBefore);
  assert.equal(afterRestart[0]!.first, 250, 'the restarted exporter resumed at the cursor, not at 0');
  const attempts = receiver.posts.filter((p) => p.key === FAIL_KEY);
  assert.ok(attempts.length >= 4);
  for (const a of attempts) assert.equal(a.body, attempts[0]!.body, 'every retry of the batch carries the same events');
  assert.equal(attempts.at(-1)!.last, 299, 'the pinned batch kept its size after the restart');
  assert.ok(afterRestart.some((p) => p.status === 204 && p.last - p.first === 69), 'later batches use the new size');
  assertAcceptedExactlyOnce(receiver.posts, await logPayloads(size));
  assert.equal((await cursor(first.id)).inflight_to, null);
});

test('HTTPS: a receiver with an untrusted certificate is refused before any event is sent', { timeout: 120_000 }, async () => {
  let requests = 0;
  const receiver = await startHttpsReceiver(() => {
    requests += 1;
    return 204;
  });
  // Trusting some other CA than the one that signed the receiver's certificate.
  const other = (await import('selfsigned')).default;
  const otherCa = await other.generate([{ name: 'commonName', value: 'Another CA' }], { keyType: 'ec', algorithm: 'sha256' });
  const sink = httpsSink({ url: receiver.url.replace('/ingest', '/untrusted'), authorization: null, origin: ORIGIN, tls: { ca: Buffer.from(otherCa.cert) } });
  const exporter = startExporter(ctx, sink, { batch: 50, pollMs: 20, backoffMs: 20, maxBackoffMs: 100 });
  try {
    await waitFor('the certificate error to be recorded', async () => typeof (await row(sink.id))?.last_error === 'string');
  } finally {
    await exporter.stop();
    await receiver.close();
  }
  const c = await cursor(sink.id);
  assert.match(c.last_error!, /certificate|self.signed/i);
  assert.equal(c.next_seq, 0);
  assert.equal(requests, 0, 'no request reached the receiver');
});

test('two exporters for one destination (two nodes): one sends, no event twice', { timeout: 240_000 }, async () => {
  const size = await auditRepository(ctx.db).treeSize();
  const receiver = await startHttpsReceiver(() => 200);
  const url = receiver.url.replace('/ingest', '/two-nodes');
  const node2 = await secondNode();
  const a = startExporter(ctx, httpsSink({ url, authorization: null, origin: ORIGIN, tls: { ca: Buffer.from(pki.ca) } }), { batch: 40, pollMs: 10, lockRetryMs: 50 });
  const b = startExporter(node2, httpsSink({ url, authorization: null, origin: ORIGIN, tls: { ca: Buffer.from(pki.ca) } }), { batch: 40, pollMs: 10, lockRetryMs: 50 });
  try {
    await waitFor('the cursor to reach the tree size', async () => (await row(a.id))?.next_seq === size);
    // The standing-by exporter takes over when the first stops.
    await a.stop();
    const more = await appendEvents(90);
    await waitFor('the second node to export the new events', async () => (await row(a.id))?.next_seq === more);
    assertAcceptedExactlyOnce(receiver.posts, await logPayloads(more));
  } finally {
    await a.stop();
    await b.stop();
    await receiver.close();
  }
});

// ------------------------------------------------------------------------------------------------

test('JSON Lines file: exactly once — a torn last line is cut, the file is the cursor', { timeout: 120_000 }, async () => {
  const file = path.join(dir, 'siem', 'audit.jsonl');
  const runTo = async (sink: ExportSink, seq: number) => {
    const e = startExporter(ctx, sink, { batch: 64, pollMs: 10 });
    try {
      await waitFor('the file cursor', async () => (await row(sink.id))?.next_seq === seq);
    } finally {
      await e.stop();
    }
  };
  const size1 = await auditRepository(ctx.db).treeSize();
  const sink = fileSink(file);
  await runTo(sink, size1);
  // A crash in the middle of a write leaves half a line; the database cursor also lags the file.
  const text = await readFile(file, 'utf8');
  const lastLine = text.trimEnd().split('\n').at(-1)!;
  await appendFile(file, `{"seq":${size1},"leafHash":"tor`);
  await ctx.db.updateTable('audit_export_cursors').set({ next_seq: size1 - 10 }).where('id', '=', sink.id).execute();
  const size2 = await appendEvents(75);
  await runTo(fileSink(file), size2);

  const lines = (await readFile(file, 'utf8')).split('\n');
  assert.equal(lines.pop(), '', 'the file ends with a complete line');
  const payloads = await logPayloads(size2);
  assert.deepEqual(lines.map((l) => (JSON.parse(l) as { seq: number }).seq), payloads.map((_, i) => i), 'each seq exactly once, in order');
  lines.forEach((l, i) => assert.equal(JSON.stringify((JSON.parse(l) as { event: unknown }).event), payloads[i]));
  assert.ok(lines.includes(lastLine));
  await writeFile(file, '');
});

test('the job `mamori serve` starts, from settings: CA file read, HTTPS and file destinations fed from their cursors', { timeout: 120_000 }, async () => {
  const size = await appendEvents(30);
  const receiver = await startHttpsReceiver(() => 200);
  const caFile = path.join(dir, 'siem-ca.pem');
  await writeFile(caFile, pki.ca);
  const file = path.join(dir, 'job', 'audit.jsonl');
  const url = receiver.url.replace('/ingest', '/job');
  const config = loadConfig({ MAMORI_SIEM_JSONL_URL: url, MAMORI_SIEM_JSONL_CA_FILE: caFile, MAMORI_SIEM_JSONL_FILE: file, MAMORI_SIEM_BATCH: '300' }, dir);
  await assert.rejects(startSiemExport(ctx, { ...config.siem, https: { ...config.siem.https!, caFile: path.join(dir, 'missing.pem') } }), /ENOENT/, 'an unreadable CA file stops the start-up');
  const job = await startSiemExport(ctx, config.siem);
  try {
    await waitFor('both destinations to reach the tree size', async () => {
      const rows = await exportRepository(ctx.db).all();
      const done = (kind: string, suffix: string) => rows.some((r) => r.kind === kind && r.target.endsWith(suffix) && r.next_seq === size);
      return done('https', '/job') && done('file', file);
    });
  } finally {
    await job.stop();
    await receiver.close();
  }
  assertAcceptedExactlyOnce(receiver.posts, await logPayloads(size));
  assert.equal((await readFile(file, 'utf8')).split('\n').length - 1, size);
});

test('SIEM settings: plain tcp://, udp:// and http:// are refused; tls:// and https:// accepted', async () => {
  const { loadConfig } = await import('../src/config/config.ts');
  for (const v of ['tcp://siem.example:514', 'udp://siem.example:514', 'siem.example:6514', 'tls://siem.example:6514/path']) {
    assert.throws(() => loadConfig({ MAMORI_SIEM_SYSLOG: v }, '/srv'), /MAMORI_SIEM_SYSLOG/, v);
  }
  assert.throws(() => loadConfig({ MAMORI_SIEM_JSONL_URL: 'http://siem.example/ingest' }, '/srv'), /https/);
  assert.throws(() => loadConfig({ MAMORI_SIEM_JSONL_URL: 'https://user:pw@siem.example/ingest' }, '/srv'), /credentials/);
  assert.throws(() => loadConfig({ MAMORI_SIEM_SYSLOG: 'tls://siem.example:6514', MAMORI_SIEM_SYSLOG_CERT_FILE: 'c.pem' }, '/srv'), /KEY_FILE/);
  const c = loadConfig({ MAMORI_SIEM_SYSLOG: 'tls://siem.example', MAMORI_SIEM_SYSLOG_CA_FILE: 'ca.pem', MAMORI_SIEM_JSONL_URL: 'https://siem.example/ingest', MAMORI_SIEM_JSONL_FILE: 'x/audit.jsonl' }, '/srv');
  assert.deepEqual(c.siem.syslog && { host: c.siem.syslog.host, port: c.siem.syslog.port, caFile: c.siem.syslog.caFile }, { host: 'siem.example', port: 6514, caFile: '/srv/ca.pem' });
  assert.equal(c.siem.https?.url, 'https://siem.example/ingest');
  assert.equal(c.siem.file, '/srv/x/audit.jsonl');
  assert.deepEqual(loadConfig({}, '/srv').siem, { syslog: null, https: null, file: null, batch: 1000 });
});
