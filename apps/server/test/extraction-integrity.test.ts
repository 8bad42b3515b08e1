/**
 * Every record an export writes is authenticated when it is opened: a stored record whose sealed blob
 * was altered, or moved to another record, fails the whole export with `extraction.record_unreadable`
 * (CSV on the worker threads, XLSX on the main thread alike), audited, with no file left behind and
 * nothing about the record in the error. The same export runs to the end once the record is whole.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { existsSync, readdirSync } from 'node:fs';
import { sql } from 'kysely';
import { startTestApp, signIn, PURPOSE, type Session, type TestApp } from './support/app.ts';
import { runDueExtractions } from '../src/modules/extraction/index.ts';

let t: TestApp;
let handler: Session;
let owner: Session;
const CONTACTS = 40;
const settings = () => ({ dir: path.join(t.dir, 'exports') });

before(async () => {
  t = await startTestApp({ demoContacts: CONTACTS });
  handler = await signIn(t, 'handler');
  owner = await signIn(t, 'owner');
});
after(async () => {
  await t?.close();
});

async function approvedExtraction(format: 'csv_utf8' | 'xlsx'): Promise<string> {
  const r = await handler.request('POST', '/api/extractions', {
    dataset: 'contacts', purpose: PURPOSE, fields: ['company_name', 'person_name', 'email'], criteria: [], format, recipient: { kind: 'internal' },
  });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  const ex = r.json.extraction as { id: string; approvalRequestId: string };
  const a = await owner.request('POST', `/api/approvals/requests/${ex.approvalRequestId}/approve`, { reason: '範囲を確認しました' });
  assert.equal(a.status, 200, JSON.stringify(a.json));
  return ex.id;
}

/** The ids of two stored records with sealed values, and their blobs as stored. */
async function twoRecords(): Promise<{ id: string; sealed: Buffer }[]> {
  const r = await sql<{ id: string; sealed: Buffer }>`SELECT id, sealed FROM records WHERE sealed IS NOT NULL ORDER BY id OFFSET 17 LIMIT 2`.execute(t.ctx.db);
  return r.rows;
}

async function setSealed(id: string, sealed: Buffer): Promise<void> {
  await sql`UPDATE records SET sealed = ${sealed} WHERE id = ${id}`.execute(t.ctx.db);
}

async function expectFailed(id: string): Promise<void> {
  assert.equal(await runDueExtractions(t.ctx, settings()), 0, 'nothing completed');
  const v = (await handler.request('GET', `/api/extractions/${id}`)).json.extraction as { state: string; error: string | null; rowsDone: number };
  assert.equal(v.state, 'failed');
  assert.equal(v.error, 'extraction.record_unreadable');
  const dir = settings().dir;
  assert.ok(!existsSync(dir) || !readdirSync(dir).some((f) => f.startsWith(id)), 'no file, whole or partial, is left');
  const events = (await sql<{ payload: string }>`SELECT payload FROM audit_events UNION ALL SELECT payload FROM audit_pending`.execute(t.ctx.db)).rows
    .map((r) => JSON.parse(r.payload) as { action: string; result: string; details?: { extractionId?: string; error?: string } })
    .filter((e) => e.action === 'extraction.run' && e.details?.extractionId === id);
  const failed = events.find((e) => e.result === 'error');
  assert.equal(failed?.details?.error, 'extraction.record_unreadable', 'the failure is audited with its code');
  assert.ok(!events.some((e) => JSON.stringify(e).includes('@')), 'no personal value in the audit trail of the run');
}

test('a sealed record with one flipped bit fails a CSV export (worker threads): no file, a stable code', async () => {
  const [rec] = await twoRecords();
  const flipped = Buffer.from(rec!.sealed);
  flipped[flipped.length - 5]! ^= 0x01;
  await setSealed(rec!.id, flipped);
  try {
    await expectFailed(await approvedExtraction('csv_utf8'));
  } finally {
    await setSealed(rec!.id, rec!.sealed);
  }
  // Whole again: the same export completes with every record.
  const id = await approvedExtraction('csv_utf8');
  assert.equal(await runDueExtractions(t.ctx, settings()), 1);
  const v = (await handler.request('GET', `/api/extractions/${id}`)).json.extraction as { state: string; rowsDone: number };
  assert.equal(v.state, 'ready');
  assert.equal(v.rowsDone, CONTACTS);
});

test("a record carrying another record's sealed blob fails the export (XLSX, main thread, and CSV alike)", async () => {
  const [a, b] = await twoRecords();
  await setSealed(a!.id, b!.sealed);
  try {
    await expectFailed(await approvedExtraction('xlsx'));
    await expectFailed(await approvedExtraction('csv_utf8'));
  } finally {
    await setSealed(a!.id, a!.sealed);
  }
});
