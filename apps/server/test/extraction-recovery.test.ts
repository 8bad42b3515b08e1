/**
 * An export whose worker died mid-run (SIGKILL, OOM, power loss) does not stay "running" forever:
 * its lease runs out, another worker takes it over and runs it again from the start with the stored
 * export key, and the requester gets one complete file. A worker that was taken over can no longer
 * write progress or complete (fencing by attempt), and after three interrupted runs the export fails
 * with `extraction.interrupted`, shown to the requester. Every step is audited.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { sql } from 'kysely';
import { startTestApp, signIn, PURPOSE, type Session, type TestApp } from './support/app.ts';
import { LEASE_MS, MAX_ATTEMPTS, resumeInterrupted, runDueExtractions, startExtraction } from '../src/modules/extraction/index.ts';
import { extractionRepository } from '../src/modules/extraction/extraction.repository.ts';
import { generateDemoContacts } from '../src/modules/vault/vault.demo-data.ts';

let t: TestApp;
let handler: Session;
let owner: Session;
const CONTACTS = 60;
const contacts = [...generateDemoContacts(CONTACTS, 1)];
const settings = () => ({ dir: path.join(t.dir, 'exports') });

before(async () => {
  t = await startTestApp({ demoContacts: CONTACTS });
  handler = await signIn(t, 'handler');
  owner = await signIn(t, 'owner');
});
after(async () => {
  await t?.close();
});

/** Filed by the handler, approved by the owner: ready for the worker. */
async function approvedExtraction(): Promise<string> {
  const r = await handler.request('POST', '/api/extractions', {
    dataset: 'contacts', purpose: PURPOSE, fields: ['company_name', 'person_name', 'email'], criteria: [], format: 'csv_utf8', recipient: { kind: 'internal' },
  });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  const ex = r.json.extraction as { id: string; approvalRequestId: string };
  const a = await owner.request('POST', `/api/approvals/requests/${ex.approvalRequestId}/approve`, { reason: '範囲を確認しました' });
  assert.equal(a.status, 200, JSON.stringify(a.json));
  return ex.id;
}

/**
 * What a worker killed mid-run leaves behind: the approval used and the run started (the real start
 * transaction), a partly written file of its attempt, and no more heartbeats.
 */
async function crashedRun(id: string, attempt = 1): Promise<void> {
  if (attempt === 1) assert.ok(await startExtraction(t.ctx, id), 'the run started');
  mkdirSync(settings().dir, { recursive: true });
  writeFileSync(path.join(settings().dir, `${id}.${attempt}.part`), Buffer.from('MMX partial, never completed'));
}

async function view(id: string) {
  return (await handler.request('GET', `/api/extractions/${id}`)).json.extraction as { state: string; attempt: number; error: string | null; rowsDone: number };
}

async function runEvents(id: string): Promise<{ reason: string; result: string; details: Record<string, unknown> }[]> {
  const rows = (await sql<{ payload: string }>`SELECT payload FROM audit_events UNION ALL SELECT payload FROM audit_pending`.execute(t.ctx.db)).rows;
  return rows.map((r) => JSON.parse(r.payload)).filter((e) => e.action === 'extraction.run' && e.details?.extractionId === id);
}

test('a run whose worker died is taken over after its lease and completes once, with the same approval', async () => {
  const id = await approvedExtraction();
  await crashedRun(id);
  assert.equal((await view(id)).state, 'running');

  // Within the lease the run may still be alive somewhere: nobody touches it.
  t.clock.advance(LEASE_MS - 1_000);
  assert.equal(await runDueExtractions(t.ctx, settings()), 0);
  assert.equal((await view(id)).state, 'running');
  assert.equal((await view(id)).attempt, 1);

  // After the lease another worker takes it over and runs it to the end.
  t.clock.advance(2_000);
  assert.equal(await runDueExtractions(t.ctx, settings()), 1);
  const v = await view(id);
  assert.equal(v.state, 'ready');
  assert.equal(v.attempt, 2);
  assert.equal(v.rowsDone, CONTACTS);
  assert.deepEqual(readdirSync(settings().dir).filter((f) => f.startsWith(id)), [`${id}.mmx`], 'the partial file is gone, one complete file is in place');

  // The requester gets the whole file, once.
  const r = await t.app.inject({ method: 'GET', url: `/api/extractions/${id}/download`, headers: { cookie: `mamori_session=${handler.cookie}`, 'x-csrf-token': handler.csrf } });
  assert.equal(r.statusCode, 200);
  const csv = r.rawPayload.toString('utf8');
  for (const c of contacts) assert.ok(csv.includes(c.email), 'every record is in the file');

  const phases = (await runEvents(id)).map((e) => e.details.phase);
  assert.deepEqual(phases, ['start', 'resume', 'complete'], 'the take-over is audited between the start and the completion');
  const resume = (await runEvents(id)).find((e) => e.details.phase === 'resume')!;
  assert.equal(resume.details.attempt, 2);
});

test('a worker that was taken over can neither report progress nor complete', async () => {
  const id = await approvedExtraction();
  await crashedRun(id);
  const repo = extractionRepository(t.ctx.db);
  t.clock.advance(LEASE_MS + 1_000);
  const cutoff = new Date(t.clock.now().getTime() - LEASE_MS);
  assert.equal(await repo.takeOver(id, 1, cutoff, t.clock.now()), 2, 'the first taker gets attempt 2');
  assert.equal(await repo.takeOver(id, 1, cutoff, t.clock.now()), undefined, 'a second taker of the same stale attempt gets nothing');
  // The old worker wakes up: its heartbeat and its completion are refused.
  assert.equal(await repo.progress(id, 1, 10, t.clock.now()), false);
  assert.equal(await repo.finishAttempt(id, 1, { state: 'ready' }), false);
  assert.equal((await view(id)).state, 'running');
  // The current attempt's lease renews.
  assert.equal(await repo.progress(id, 2, null, t.clock.now()), true);
  assert.equal(await resumeInterrupted(t.ctx, settings()), 0, 'a renewed lease is not taken over');
});

test(`after ${MAX_ATTEMPTS} interrupted runs the export fails with extraction.interrupted, and the requester is shown why`, async () => {
  const id = await approvedExtraction();
  await crashedRun(id);
  const repo = extractionRepository(t.ctx.db);
  for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) {
    // Each take-over dies too: it leaves its partial file and stops renewing.
    t.clock.advance(LEASE_MS + 1_000);
    const cutoff = new Date(t.clock.now().getTime() - LEASE_MS);
    assert.equal(await repo.takeOver(id, attempt, cutoff, t.clock.now()), attempt + 1);
    await crashedRun(id, attempt + 1);
  }
  t.clock.advance(LEASE_MS + 1_000);
  await runDueExtractions(t.ctx, settings());
  const v = await view(id);
  assert.equal(v.state, 'failed');
  assert.equal(v.error, 'extraction.interrupted');
  assert.ok(!readdirSync(settings().dir).some((f) => f.startsWith(id)), 'no partial file is left');
  const failed = (await runEvents(id)).find((e) => e.result === 'error')!;
  assert.equal(failed.details.error, 'extraction.interrupted');
  assert.ok(!existsSync(path.join(settings().dir, `${id}.mmx`)));
});
