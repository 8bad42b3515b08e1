/**
 * The people's side of SIEM export over HTTP: exporter status (cursor, lag, last error) for the
 * security center, auditors and administrators; the lag as a Prometheus metric; the one-off JSON
 * Lines export — equal to the log, audited, refused (and the refusal audited) for the wrong roles.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, signIn, type Session, type TestApp } from './support/app.ts';
import { auditRepository, integrateAll, leafHash } from '../src/modules/audit/index.ts';
import { exportRepository } from '../src/modules/audit/audit.export-repository.ts';

let t: TestApp;
const sessions = new Map<string, Session>();
/** Each user signs in once (password change and TOTP enrolment happen at the first sign-in). */
async function session(login: string): Promise<Session> {
  if (!sessions.has(login)) sessions.set(login, await signIn(t, login));
  return sessions.get(login)!;
}

before(async () => {
  t = await startTestApp({ demoContacts: 20 });
});

after(async () => {
  await t.close();
});

test('GET /api/audit/exports: cursor, lag and last error per destination, for security center, auditor and administrator only', { timeout: 180_000 }, async () => {
  await integrateAll(t.ctx);
  const repo = exportRepository(t.ctx.db);
  await repo.ensure('syslog:siem.example:6514', 'syslog', 'siem.example:6514');
  await repo.pin('syslog:siem.example:6514', 0, 5);
  await repo.advance('syslog:siem.example:6514', 0, 5, t.clock.now());
  await repo.recordError('syslog:siem.example:6514', 'ECONNRESET: read ECONNRESET', t.clock.now());

  for (const login of ['secops', 'auditor', 'admin']) {
    const s = await session(login);
    const r = await s.request('GET', '/api/audit/exports');
    assert.equal(r.status, 200, `${login}: ${JSON.stringify(r.json)}`);
    const size = await auditRepository(t.ctx.db).treeSize();
    assert.equal(r.json.treeSize, size);
    const d = r.json.destinations.find((x: { id: string }) => x.id === 'syslog:siem.example:6514');
    assert.equal(d.nextSeq, 5);
    assert.equal(d.lag, size - 5);
    assert.equal(d.kind, 'syslog');
    assert.equal(d.lastError, 'ECONNRESET: read ECONNRESET');
    assert.ok(d.lastSuccessAt && d.lastErrorAt);
  }

  const handler = await session('handler');
  const denied = await handler.request('GET', '/api/audit/exports');
  assert.equal(denied.status, 403);
  const last = (await auditRepository(t.ctx.db).list({ action: 'audit.exports.read', limit: 1 }))[0];
  assert.equal(JSON.parse(last!.payload).decision, 'deny', 'the refusal is audited');

  const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
  const size = await auditRepository(t.ctx.db).treeSize();
  assert.match(metrics.body, new RegExp(`mamori_audit_export_lag_events\\{destination="syslog:siem.example:6514"\\} ${size - 5}\\n`));
  assert.match(metrics.body, /mamori_audit_export_last_success_seconds\{destination="syslog:siem.example:6514"\} \d+/);
});

test('GET /api/audit/export.jsonl: the log as JSON Lines, range inclusive, audited; administrators refused', { timeout: 180_000 }, async () => {
  await integrateAll(t.ctx);
  const secops = await session('secops');
  const size = await auditRepository(t.ctx.db).treeSize();
  assert.ok(size > 12);
  const res = await t.app.inject({
    method: 'GET', url: '/api/audit/export.jsonl?from=3&to=12',
    headers: { cookie: `mamori_session=${secops.cookie}` },
  });
  assert.equal(res.statusCode, 200, res.body);
  assert.match(String(res.headers['content-type']), /^application\/x-ndjson/);
  assert.equal(res.headers['x-mamori-count'], '10');
  const lines = res.body.split('\n');
  assert.equal(lines.pop(), '');
  const log = await auditRepository(t.ctx.db).integratedRange(3, 10);
  assert.deepEqual(lines.map((l) => JSON.parse(l).seq), log.map((r) => r.log_index));
  lines.forEach((l, i) => {
    const x = JSON.parse(l) as { leafHash: string; event: unknown };
    assert.equal(JSON.stringify(x.event), log[i]!.payload);
    assert.equal(x.leafHash, leafHash(Buffer.from(log[i]!.payload, 'utf8')).toString('base64'));
  });

  const audited = (await auditRepository(t.ctx.db).list({ action: 'audit.export', limit: 1 }))[0];
  const e = JSON.parse(audited!.payload) as { decision: string; details: { from: number; to: number; count: number; format: string } };
  assert.equal(e.decision, 'allow');
  assert.deepEqual({ ...e.details, treeSize: undefined }, { format: 'jsonl', from: 3, to: 12, count: 10, treeSize: undefined });

  const bad = await secops.request('GET', '/api/audit/export.jsonl?from=9&to=2');
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.code, 'request.invalid');

  const admin = await session('admin');
  const refused = await admin.request('GET', '/api/audit/export.jsonl');
  assert.equal(refused.status, 403);
  const denial = (await auditRepository(t.ctx.db).list({ action: 'audit.export', limit: 1 }))[0];
  assert.equal(JSON.parse(denial!.payload).decision, 'deny');
});
