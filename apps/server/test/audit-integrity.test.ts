/**
 * The log's integrity over HTTP (issue 4 item 7): the status (latest checkpoint, log key, witnesses,
 * last verification), verification runs as background jobs (one at a time, recorded, audited, found
 * again after a restart of the reading side), and proof bundles that verify offline — and stop
 * verifying when one byte of what they prove is changed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { integrateAll } from '../src/modules/audit/index.ts';
import { parseVerifierKey, verifierKey } from '../src/modules/audit/audit.checkpoint.ts';
import { verifyProofBundle, type ProofBundle } from '../src/modules/audit/audit.bundle.ts';
import { verificationRunsRepository } from '../src/modules/audit/audit.runs.repository.ts';
import { integrityStatus, runVerification } from '../src/modules/audit/audit.integrity.ts';
import type { AppContext } from '../src/platform/context.ts';
import { ephemeralSigningKey } from '../src/platform/crypto/signing-key.ts';
import { systemActor } from '../src/modules/identity/index.ts';
import { PURPOSE, signIn, startTestApp, type Session, type TestApp } from './support/app.ts';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/mamori.mjs');
const run = promisify(execFile);

let t: TestApp;
let auditor: Session;

before(async () => {
  t = await startTestApp({ demoContacts: 30 });
  auditor = await signIn(t, 'auditor');
  const handler = await signIn(t, 'handler');
  for (let i = 0; i < 20; i++) await handler.request('POST', '/api/datasets/contacts/records/search', { purpose: PURPOSE, criteria: [], limit: 2 });
  await integrateAll(t.ctx);
});
after(async () => t.close());

async function waitForRun(id: string): Promise<any> {
  for (let i = 0; i < 600; i++) {
    const r = await auditor.request('GET', `/api/audit/verifications/${id}`);
    assert.equal(r.status, 200);
    if (r.json.run.status !== 'running') return r.json.run;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the verification did not finish');
}

test('integrity status: latest checkpoint, the log key, a witness that agrees; for auditors and administrators, not handlers', async () => {
  const r = await auditor.request('GET', '/api/audit/integrity');
  assert.equal(r.status, 200);
  const s = r.json;
  assert.ok(s.checkpoint.treeSize > 20);
  assert.match(s.checkpoint.note, new RegExp(`^mamori\\.test/audit\\n${s.checkpoint.treeSize}\\n${s.checkpoint.rootHash.replace(/[+/]/g, '\\$&')}\\n\\n— `));
  assert.equal(s.log.origin, 'mamori.test/audit');
  assert.equal(s.log.verifierKey, verifierKey(t.ctx.auditLog.key.name, t.ctx.auditLog.key.publicRaw));
  assert.deepEqual(s.witnesses, [{ name: t.ctx.auditLog.witnesses[0]!.name, state: 'agrees', latestSize: s.checkpoint.treeSize }]);

  const admin = await signIn(t, 'admin');
  assert.equal((await admin.request('GET', '/api/audit/integrity')).status, 200);
  assert.equal((await admin.request('GET', '/api/audit/events')).status, 403, 'the administrator still cannot read the events');
  const handler = await signIn(t, 'haken');
  assert.equal((await handler.request('GET', '/api/audit/integrity')).status, 403);
  assert.equal((await handler.request('POST', '/api/audit/verifications')).status, 403);
});

test('a witness holding a checkpoint the database no longer has (newest rows deleted) is reported', async () => {
  const size = Number((await auditor.request('GET', '/api/audit/integrity')).json.checkpoint.treeSize);
  await t.ctx.db.transaction().execute(async (tx) => {
    await sql`DELETE FROM audit_checkpoints WHERE tree_size = ${size}`.execute(tx);
    const status = await integrityStatus({ ...t.ctx, db: tx as unknown as AppContext['db'] }, systemActor({ ip: null, userAgent: 'test', deviceId: null }));
    assert.deepEqual(status.witnesses[0], { name: t.ctx.auditLog.witnesses[0]!.name, state: 'ahead_of_log', latestSize: size });
    throw new Error('rollback');
  }).catch((e: Error) => assert.equal(e.message, 'rollback'));
});

test('verify now: a background run with progress, recorded with who and the result, audited; one at a time', async () => {
  const started = await auditor.request('POST', '/api/audit/verifications');
  assert.equal(started.status, 202);
  assert.equal(started.json.run.source, 'console');
  const done = await waitForRun(started.json.run.id);
  assert.equal(done.status, 'ok');
  assert.equal(done.problem, null);
  assert.ok(done.treeSize > 20);
  assert.equal(done.done, done.treeSize);
  assert.equal(done.startedBy.login, 'auditor');

  const status = (await auditor.request('GET', '/api/audit/integrity')).json;
  assert.equal(status.lastRun.id, done.id);
  assert.equal(status.currentRun, null);

  await integrateAll(t.ctx);
  const events = (await auditor.request('GET', '/api/audit/events?action=audit.verify&limit=10')).json.events.map((e: any) => e.event.details);
  assert.deepEqual(events.filter((d: any) => d.runId === done.id).map((d: any) => d.what).sort(), ['verification_finished', 'verification_started']);

  // While a run is running (here: one recorded by another node), a second one is refused.
  const other = '00000000-0000-4000-8000-000000000001';
  assert.ok(await verificationRunsRepository(t.ctx.db).tryStart({ id: other, startedBy: null, source: 'cli', at: t.clock.now() }));
  const refused = await auditor.request('POST', '/api/audit/verifications');
  assert.equal(refused.status, 409);
  assert.equal(refused.json.error.details.runId, other);
  assert.equal((await auditor.request('GET', '/api/audit/integrity')).json.currentRun.id, other);
  // A run whose process died (no heartbeat for minutes) no longer blocks.
  t.clock.advance(5 * 60_000);
  const next = await auditor.request('POST', '/api/audit/verifications');
  assert.equal(next.status, 202);
  await waitForRun(next.json.run.id);
  assert.equal((await auditor.request('GET', `/api/audit/verifications/${other}`)).json.run.error, 'abandoned');
});

test('a tampered log: the run fails with the first problem, and it is the last verification shown', async () => {
  const list = (await auditor.request('GET', '/api/audit/events?action=record.search&limit=5')).json.events;
  const victim = list.find((e: any) => e.logIndex !== null);
  // An intruder with the table owner's rights switches the append-only guard off first (ADR 0003).
  const edit = (from: string, to: string) => t.ctx.db.transaction().execute(async (tx) => {
    await sql`ALTER TABLE audit_events DISABLE TRIGGER audit_events_immutable`.execute(tx);
    await sql`UPDATE audit_events SET payload = replace(payload, ${from}, ${to}) WHERE id = ${victim.id}`.execute(tx);
    await sql`ALTER TABLE audit_events ENABLE TRIGGER audit_events_immutable`.execute(tx);
  });
  await edit('"record.search"', '"record.searcH"');
  try {
    const started = await auditor.request('POST', '/api/audit/verifications');
    const done = await waitForRun(started.json.run.id);
    assert.equal(done.status, 'failed');
    assert.deepEqual([done.problem.kind, done.problem.index], ['altered', victim.logIndex]);
    const last = (await auditor.request('GET', '/api/audit/integrity')).json.lastRun;
    assert.deepEqual([last.id, last.status, last.problem.index], [done.id, 'failed', victim.logIndex]);
  } finally {
    await edit('"record.searcH"', '"record.search"');
  }
  // The CLI / API path records its run the same way.
  const r = await runVerification(t.ctx, systemActor({ ip: null, userAgent: 'mamori-cli', deviceId: null }), 'cli');
  assert.equal(r.ok, true);
  const last = (await auditor.request('GET', '/api/audit/integrity')).json.lastRun;
  assert.deepEqual([last.id, last.source, last.status, last.startedBy], [r.runId, 'cli', 'ok', null]);
});

test('a proof bundle verifies offline; one changed byte in what it proves does not', async () => {
  const res = await t.app.inject({ method: 'GET', url: '/api/audit/proofs/bundle?index=7', headers: { cookie: `mamori_session=${auditor.cookie}` } });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-disposition']), /attachment; filename="mamori-audit-proof-7\.json"/);
  const bundle = res.json() as ProofBundle;
  assert.equal(bundle.leafIndex, 7);
  const ok = verifyProofBundle(bundle);
  assert.equal(ok.ok, true, JSON.stringify(ok.checks));
  const vkey = parseVerifierKey(bundle.logKey.verifierKey)!;
  assert.equal(verifyProofBundle(bundle, vkey).ok, true);
  const stranger = ephemeralSigningKey(bundle.logKey.name);
  assert.equal(verifyProofBundle(bundle, { name: stranger.name, publicRaw: stranger.publicRaw }).ok, false, 'another key does not verify it');

  const bytes = Buffer.from(bundle.eventBytes, 'base64');
  for (let i = 0; i < bytes.length; i++) {
    const altered = Buffer.from(bytes);
    altered[i] = altered[i]! ^ 0x01;
    assert.equal(verifyProofBundle({ ...bundle, eventBytes: altered.toString('base64') }).ok, false, `byte ${i} of the event changed`);
  }
  for (let k = 0; k < bundle.inclusionProof.length; k++) {
    const h = Buffer.from(bundle.inclusionProof[k]!, 'base64');
    h[5] = h[5]! ^ 0x80;
    const proof = bundle.inclusionProof.map((p, j) => (j === k ? h.toString('base64') : p));
    assert.equal(verifyProofBundle({ ...bundle, inclusionProof: proof }).ok, false, `proof hash ${k} changed`);
  }
  const [origin, size, root, ...rest] = bundle.checkpoint.split('\n');
  const rootBytes = Buffer.from(root!, 'base64');
  rootBytes[0] = rootBytes[0]! ^ 0x01;
  assert.equal(verifyProofBundle({ ...bundle, checkpoint: [origin, size, rootBytes.toString('base64'), ...rest].join('\n') }).ok, false, 'checkpoint root changed');
  assert.equal(verifyProofBundle({ ...bundle, leafIndex: 8 }).ok, false, 'another index');
  assert.equal(verifyProofBundle({ ...bundle, event: { ...(bundle.event as object), action: 'record.read' } }).ok, false, 'the readable copy says something else');
  assert.equal(verifyProofBundle({ ...bundle, readme: ['changed'] }).ok, true, 'the readme is not part of the proof');

  // The command line: the same file verifies; with one byte of the event changed it does not (exit 2).
  const good = path.join(t.dir, 'bundle.json');
  const bad = path.join(t.dir, 'bundle-altered.json');
  await writeFile(good, res.body);
  bytes[10] = bytes[10]! ^ 0x20;
  await writeFile(bad, JSON.stringify({ ...bundle, eventBytes: bytes.toString('base64') }));
  const cliEnv = { ...process.env, DATABASE_URL: '' };
  const { stdout } = await run(process.execPath, [BIN, 'audit', 'verify-proof', good, '--key', bundle.logKey.verifierKey], { env: cliEnv });
  assert.match(stdout, /^OK: event 7 is in the log of \d+ events signed by the given key$/m);
  const failed = await run(process.execPath, [BIN, 'audit', 'verify-proof', bad], { env: cliEnv }).then(() => null, (e: { code: number; stdout: string }) => e);
  assert.equal(failed?.code, 2);
  assert.match(failed!.stdout, /FAIL (leaf|inclusion)/);
  assert.match(failed!.stdout, /NOT VERIFIED/);
});

test('a proof bundle for an index no checkpoint covers is refused', async () => {
  const r = await auditor.request('GET', '/api/audit/proofs/bundle?index=100000');
  assert.equal(r.status, 400);
});
