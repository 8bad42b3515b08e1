/**
 * Controlled extraction end to end, over HTTP on a real database: the handler builds an extraction
 * (count, masked preview), files it; a second person approves; the system worker runs it (encrypted,
 * watermarked); the requester downloads it once. The proofs of issue 5: self-approval refused for an
 * administrator holding every role; an expired approval, a second download, an expired link and a
 * download by someone else refused (and audited); an approval by a user retired after approving no
 * longer counts; opt-outs suppressed for third parties; the Art. 29 provision record per subject.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { existsSync, readdirSync } from 'node:fs';
import { sql } from 'kysely';
import { ROLES } from '@mamori/contracts';
import { startTestApp, signIn, PURPOSE, type Session, type TestApp } from './support/app.ts';
import { identity, systemActor } from '../src/modules/identity/index.ts';
import { runDueExtractions } from '../src/modules/extraction/index.ts';
import * as lifecycle from '../src/modules/lifecycle/index.ts';
import * as approvals from '../src/modules/approvals/index.ts';
import { generateDemoContacts } from '../src/modules/vault/vault.demo-data.ts';

let t: TestApp;
let handler: Session;
let owner: Session;
let cpo: Session;
let auditor: Session;
const CONTACTS = 120;
const contacts = [...generateDemoContacts(CONTACTS, 1)];
const ALL_FIELDS = ['corporate_number', 'company_name', 'company_name_kana', 'prefecture', 'company_address', 'office_postal_code', 'department', 'title', 'person_name', 'person_name_kana', 'email', 'direct_phone', 'mobile_phone'];
const system = systemActor({ ip: null, userAgent: 'test', deviceId: null });
// Small batches: every export here crosses several batches (and the workers' pipeline).
const settings = () => ({ dir: path.join(t.dir, 'exports'), batchRows: 16 });

before(async () => {
  t = await startTestApp({ demoContacts: CONTACTS });
  handler = await signIn(t, 'handler');
  owner = await signIn(t, 'owner');
  cpo = await signIn(t, 'cpo');
  auditor = await signIn(t, 'auditor');
});
after(async () => {
  await t?.close();
});

const thirdParty = { kind: 'third_party', name: '株式会社テスト受領', address: '東京都千代田区丸の内1-1-1', representative: '代表取締役 受領 太郎' } as const;

function body(over: Record<string, unknown> = {}) {
  return { dataset: 'contacts', purpose: PURPOSE, fields: ALL_FIELDS, criteria: [], format: 'csv_utf8', recipient: { kind: 'internal' }, ...over };
}

async function fileExtraction(s: Session, over: Record<string, unknown> = {}) {
  const r = await s.request('POST', '/api/extractions', body(over));
  assert.equal(r.status, 201, JSON.stringify(r.json));
  return r.json.extraction as { id: string; approvalRequestId: string; rowsTotal: number; suppressed: number };
}

async function approve(s: Session, requestId: string) {
  const r = await s.request('POST', `/api/approvals/requests/${requestId}/approve`, { reason: '範囲を確認しました' });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.request;
}

async function download(s: Session, id: string) {
  const r = await t.app.inject({ method: 'GET', url: `/api/extractions/${id}/download`, headers: { cookie: `mamori_session=${s.cookie}`, 'x-csrf-token': s.csrf } });
  return { status: r.statusCode, body: r.rawPayload, json: r.statusCode === 200 ? null : (JSON.parse(r.body) as { error: { code: string; details: { rule: string } } }) };
}

async function state(id: string): Promise<string> {
  return (await handler.request('GET', `/api/extractions/${id}`)).json.extraction.state as string;
}

async function events(action: string): Promise<{ decision: string; rule: string; details: Record<string, unknown> }[]> {
  const rows = (await sql<{ payload: string }>`SELECT payload FROM audit_events UNION ALL SELECT payload FROM audit_pending`.execute(t.ctx.db)).rows;
  return rows.map((r) => JSON.parse(r.payload) as { action: string; decision: string; rule: string; details: Record<string, unknown> }).filter((e) => e.action === action);
}



void test('a handler builds a third-party extraction: count and masked preview, opt-outs suppressed, the approver sees the scope but no personal data; approved, run, downloaded once', async () => {
  // The CPO's staff put one data subject on the opt-out list (by e-mail: stored as blind indexes only).
  const optedOut = contacts[7]!;
  const add = await cpo.request('POST', '/api/suppression', { dataset: 'contacts', kind: 'email', value: optedOut.email.toUpperCase(), note: '問合せ番号 42' });
  assert.equal(add.status, 201, JSON.stringify(add.json));
  assert.ok(!JSON.stringify(add.json).includes(optedOut.email), 'the entry does not echo the value');
  const stored = await sql<{ n: number }>`SELECT count(*)::int AS n FROM suppression_entries WHERE hint = ${optedOut.email} OR note LIKE ${'%' + optedOut.email + '%'}`.execute(t.ctx.db);
  assert.equal(stored.rows[0]!.n, 0);
  assert.equal((await handler.request('POST', '/api/suppression', { dataset: 'contacts', kind: 'email', value: 'x@example.jp', note: '' })).status, 403, 'a handler cannot change the list');
  assert.ok((await events('suppression.manage')).some((e) => e.decision === 'allow' && e.details['change'] === 'add'));

  const preview = await handler.request('POST', '/api/extractions/preview', body({ recipient: thirdParty }));
  assert.equal(preview.status, 200, JSON.stringify(preview.json));
  assert.equal(preview.json.rows, CONTACTS - 1);
  assert.equal(preview.json.suppressed, 1);
  assert.ok(preview.json.sample.length > 0);
  const previewText = JSON.stringify(preview.json);
  for (const c of contacts) assert.ok(!previewText.includes(c.email) && !previewText.includes(c.mobile_phone), 'the preview is masked');
  // Internal use: nobody is suppressed.
  assert.equal((await handler.request('POST', '/api/extractions/preview', body())).json.rows, CONTACTS);

  const ex = await fileExtraction(handler, { recipient: thirdParty });
  assert.equal(ex.rowsTotal, CONTACTS - 1);
  const request = (await owner.request('GET', `/api/approvals/requests/${ex.approvalRequestId}`)).json.request;
  assert.equal(request.kind, 'extraction');
  assert.equal(request.scope.rowCount, CONTACTS - 1);
  assert.deepEqual(request.scope.fields, ALL_FIELDS);
  assert.deepEqual(request.scope.sensitiveFields, ['mobile_phone']);
  assert.equal(request.scope.purpose, PURPOSE);
  assert.equal(request.scope.recipient, thirdParty.name);
  const scopeText = JSON.stringify(request);
  for (const c of contacts) for (const v of [c.email, c.mobile_phone, c.direct_phone, c.person_name]) assert.ok(!scopeText.includes(v), 'no personal data in the approval request');

  // Not approved yet: the worker does nothing and the file cannot be downloaded.
  assert.equal(await runDueExtractions(t.ctx, settings()), 0);
  assert.equal((await download(handler, ex.id)).status, 409);

  await approve(owner, ex.approvalRequestId);
  assert.equal(await runDueExtractions(t.ctx, settings()), 1);
  const view = (await handler.request('GET', '/api/extractions')).json.extractions.find((e: { id: string }) => e.id === ex.id);
  assert.equal(view.state, 'ready');
  assert.equal(view.rowsDone, CONTACTS - 1);
  assert.equal(view.approvers[0].login, 'owner');

  // Encrypted at rest: the file under the data folder holds none of the values.
  const files = readdirSync(settings().dir);
  assert.equal(files.length, 1);
  const { readFileSync } = await import('node:fs');
  const atRest = readFileSync(path.join(settings().dir, files[0]!));
  for (const c of contacts.slice(0, 20)) assert.ok(!atRest.includes(Buffer.from(c.email)) && !atRest.includes(Buffer.from(c.person_name)));

  // Someone else (the approver, the CPO) is refused; the requester gets it once.
  for (const s of [owner, cpo]) {
    const r = await download(s, ex.id);
    assert.equal(r.status, 403, `${s.login} must not download`);
  }
  // A HEAD request does not spend the one-time download.
  const head = await t.app.inject({ method: 'HEAD', url: `/api/extractions/${ex.id}/download`, headers: { cookie: `mamori_session=${handler.cookie}` } });
  assert.notEqual(head.statusCode, 200);
  const first = await download(handler, ex.id);
  assert.equal(first.status, 200);
  assert.deepEqual([...first.body.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 with BOM');
  const text = first.body.toString('utf8');
  const lines = text.trim().split('\r\n');
  const canaries = (await sql<{ n: number }>`SELECT count(DISTINCT position)::int AS n FROM extraction_canaries WHERE extraction_id = ${ex.id}`.execute(t.ctx.db)).rows[0]!.n;
  assert.ok(canaries >= 3 && canaries <= 5, `canaries: ${canaries}`);
  assert.equal(lines.length, 1 + CONTACTS - 1 + canaries, 'header, every row but the opted-out one, the canaries');
  assert.ok(!text.includes(optedOut.email), 'the opted-out subject is not provided to the third party');
  const present = contacts.filter((c) => text.includes(c.mobile_phone)).length;
  assert.equal(present, CONTACTS - 1, 'the approved file carries the confidential field in clear');
  // Each canary sits at its recorded position (0 = before the first data row), and only canaries do.
  const positions = (await sql<{ position: number }>`SELECT DISTINCT position FROM extraction_canaries WHERE extraction_id = ${ex.id}`.execute(t.ctx.db)).rows.map((r) => r.position);
  const known = new Set(contacts.map((c) => c.mobile_phone));
  const canaryLines = lines.slice(1).flatMap((l, i) => (l.split(',').some((v) => known.has(v)) ? [] : [i]));
  assert.deepEqual(canaryLines, [...positions].sort((a, b) => a - b), 'canaries exactly at their recorded positions');

  const second = await download(handler, ex.id);
  assert.equal(second.status, 409);
  assert.equal(second.json!.error.details.rule, 'extraction.downloaded');
  assert.equal(existsSync(path.join(settings().dir, files[0]!)), false, 'the encrypted copy is gone after delivery');
  const dl = await events('extraction.download');
  assert.equal(dl.filter((e) => e.decision === 'allow').length, 1);
  assert.ok(dl.filter((e) => e.decision === 'deny').length >= 4, 'refusals are audited');

  // The Art. 29 provision record, per data subject, for the CPO and auditors.
  const someone = (await sql<{ id: string }>`SELECT id FROM records ORDER BY id LIMIT 1`.execute(t.ctx.db)).rows[0]!.id;
  for (const s of [cpo, auditor]) {
    const p = await s.request('GET', `/api/provision-records?recordId=${someone}`);
    assert.equal(p.status, 200, JSON.stringify(p.json));
    assert.equal(p.json.records.length, 1);
    const rec = p.json.records[0];
    assert.equal(rec.recipientName, thirdParty.name);
    assert.equal(rec.recipientAddress, thirdParty.address);
    assert.equal(rec.recipientRepresentative, thirdParty.representative);
    assert.deepEqual(rec.dataItems, ALL_FIELDS);
    assert.equal(rec.recordCount, CONTACTS - 1);
    assert.equal(new Date(rec.retainUntil).getUTCFullYear() - new Date(rec.providedAt).getUTCFullYear(), 3);
  }
  const optedOutId = (await sql<{ id: string }>`SELECT r.id FROM records r WHERE r.id NOT IN (SELECT record_id FROM provision_subjects)`.execute(t.ctx.db)).rows;
  assert.equal(optedOutId.length, 1, 'exactly the opted-out subject has no provision record');
  assert.equal((await handler.request('GET', `/api/provision-records?recordId=${someone}`)).status, 403);
});

void test('self-approval of an extraction is refused, even for an administrator holding every role', async () => {
  const created = await identity.createUser(t.ctx, system, { login: 'almighty', displayName: '全権 太郎', employmentType: 'employee', roles: [...ROLES], password: 'a long enough password 1' });
  t.passwords.set('almighty', 'a long enough password 1');
  await t.ctx.db.updateTable('users').set({ password_change_required: true }).where('id', '=', created.user.id).execute();
  const g = await owner.request('POST', '/api/datasets/contacts/grants', { subjectType: 'user', subjectId: created.user.id, fields: ALL_FIELDS, unmaskFields: ['mobile_phone'], purposes: [PURPOSE], validUntil: new Date(t.clock.now().getTime() + 30 * 86_400_000).toISOString(), reason: 'test' });
  assert.equal(g.status, 201, JSON.stringify(g.json));
  const almighty = await signIn(t, 'almighty');
  const ex = await fileExtraction(almighty);
  const r = await almighty.request('POST', `/api/approvals/requests/${ex.approvalRequestId}/approve`, { reason: '自分で承認' });
  assert.equal(r.status, 403);
  assert.equal(r.json.error.details.rule, 'approval.self');
  assert.equal(await runDueExtractions(t.ctx, settings()), 0);
  assert.equal(await state(ex.id).catch(() => 'n/a'), 'n/a', 'the handler cannot read another person\'s extraction');
  assert.equal((await almighty.request('GET', `/api/extractions/${ex.id}`)).json.extraction.state, 'pending_approval');
  assert.equal((await download(almighty, ex.id)).status, 409);
});

void test('an approval by a user retired after approving no longer counts: the export does not run', async () => {
  const temp = await identity.createUser(t.ctx, system, { login: 'owner2', displayName: '臨時 承認者', employmentType: 'employee', roles: ['data_owner'], password: 'a long enough password 2' });
  t.passwords.set('owner2', 'a long enough password 2');
  await t.ctx.db.updateTable('users').set({ password_change_required: true }).where('id', '=', temp.user.id).execute();
  const approver = await signIn(t, 'owner2');
  const ex = await fileExtraction(handler, { fields: ['company_name', 'person_name', 'mobile_phone'] });
  await approve(approver, ex.approvalRequestId);
  await lifecycle.setUserStatus(t.ctx, system, temp.user.id, 'retired', 'left');
  assert.equal(await runDueExtractions(t.ctx, settings()), 0);
  assert.equal(await state(ex.id), 'pending_approval');
  assert.equal((await handler.request('GET', `/api/approvals/requests/${ex.approvalRequestId}`)).json.request.state, 'pending');
  assert.equal((await download(handler, ex.id)).status, 409);
});

void test('an expired approval is refused; an expired download link is refused', async () => {
  // Short windows, so the sessions (idle timeout 30 minutes) outlive them.
  const policy = (await approvals.listPolicies(t.ctx, system)).find((p) => p.kind === 'extraction')!;
  const { kind: _k, updatedAt: _u, updatedBy: _b, version: _v, ...rest } = policy;
  await approvals.updatePolicy(t.ctx, system, 'extraction', { ...rest, grantMaxMinutes: 5 });
  const ex = await fileExtraction(handler, { fields: ['company_name', 'mobile_phone'] });
  await approve(owner, ex.approvalRequestId);
  t.clock.advance(6 * 60_000); // the approval is valid for 5 minutes from approval
  assert.equal(await runDueExtractions(t.ctx, settings()), 0);
  assert.equal(await state(ex.id), 'expired');
  assert.equal((await download(handler, ex.id)).status, 409);

  const ex2 = await fileExtraction(handler, { fields: ['company_name', 'person_name'], format: 'csv_sjis' });
  await approve(owner, ex2.approvalRequestId);
  assert.equal(await runDueExtractions(t.ctx, { ...settings(), downloadHours: 0.1 }), 1);
  t.clock.advance(7 * 60_000); // the download link lasts 6 minutes here
  const r = await download(handler, ex2.id);
  assert.equal(r.status, 409);
  assert.equal(r.json!.error.details.rule, 'extraction.link_expired');
  assert.equal(await state(ex2.id), 'expired');
  assert.ok((await events('extraction.download')).some((e) => e.decision === 'deny' && e.rule === 'extraction.link_expired'));
  // A file never fetched is expired and deleted by the job.
  const ex3 = await fileExtraction(handler, { fields: ['company_name'] });
  await approve(owner, ex3.approvalRequestId);
  assert.equal(await runDueExtractions(t.ctx, { ...settings(), downloadHours: 0.1 }), 1);
  assert.ok(existsSync(path.join(settings().dir, `${ex3.id}.mmx`)));
  t.clock.advance(7 * 60_000);
  await runDueExtractions(t.ctx, settings());
  assert.equal(await state(ex3.id), 'expired');
  assert.equal(existsSync(path.join(settings().dir, `${ex3.id}.mmx`)), false);
  await approvals.updatePolicy(t.ctx, system, 'extraction', { ...rest, version: policy.version + 1 });
});

void test('removing an opt-out is audited and the person is provided again', async () => {
  const list = await cpo.request('GET', '/api/suppression');
  const entry = list.json.entries.find((e: { removedAt: string | null }) => e.removedAt === null);
  assert.ok(entry);
  assert.equal((await auditor.request('POST', `/api/suppression/${entry.id}/remove`, { reason: 'x' })).status, 403, 'auditors read, they do not change');
  assert.equal((await cpo.request('POST', `/api/suppression/${entry.id}/remove`, { reason: '本人から撤回の申出' })).status, 200);
  assert.equal((await cpo.request('POST', `/api/suppression/${entry.id}/remove`, { reason: 'again' })).status, 404);
  assert.equal((await handler.request('POST', '/api/extractions/preview', body({ recipient: thirdParty }))).json.suppressed, 0);
  assert.ok((await events('suppression.manage')).some((e) => e.decision === 'allow' && e.details['change'] === 'remove'));
});

void test('bad input gets a clear 4xx and writes nothing', async () => {
  const before = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM extractions`.execute(t.ctx.db)).rows[0]!.n;
  assert.equal((await handler.request('POST', '/api/extractions', body({ fields: ['nope'] }))).json.error.code, 'extraction.invalid');
  assert.equal((await handler.request('POST', '/api/extractions', body({ recipient: { kind: 'third_party', name: ' ', address: 'x', representative: 'y' } }))).json.error.code, 'extraction.invalid');
  assert.equal((await handler.request('POST', '/api/extractions', body({ purpose: 'データ整備' }))).status, 403, 'a purpose the grant does not cover');
  const haken = await signIn(t, 'haken');
  assert.equal((await haken.request('POST', '/api/extractions', body({ fields: ['company_name', 'person_name'] }))).status, 403, 'dispatch workers cannot extract personal data');
  assert.equal((await sql<{ n: number }>`SELECT count(*)::int AS n FROM extractions`.execute(t.ctx.db)).rows[0]!.n, before);
});

void test('a filtered export holds exactly the records its filter selects (an exact and a prefix criterion, over several batches)', async () => {
  const prefecture = contacts[0]!.prefecture;
  const prefix = contacts[3]!.company_name.slice(0, 2);
  const cases = [
    { criteria: [{ field: 'prefecture', op: 'exact', value: prefecture }], matches: (c: (typeof contacts)[number]) => c.prefecture === prefecture },
    { criteria: [{ field: 'company_name', op: 'prefix', value: prefix }], matches: (c: (typeof contacts)[number]) => c.company_name.startsWith(prefix) },
  ];
  for (const { criteria, matches } of cases) {
    const expected = contacts.filter(matches);
    assert.ok(expected.length > 0 && expected.length < CONTACTS, 'the filter selects some records, not all');
    const ex = await fileExtraction(handler, { criteria, fields: ['company_name', 'prefecture', 'email'] });
    assert.equal(ex.rowsTotal, expected.length);
    await approve(owner, ex.approvalRequestId);
    assert.equal(await runDueExtractions(t.ctx, settings()), 1);
    const file = await download(handler, ex.id);
    assert.equal(file.status, 200);
    const text = file.body.toString('utf8');
    for (const c of contacts) assert.equal(text.includes(c.email), matches(c), `${criteria[0]!.field}: record ${contacts.indexOf(c)}`);
  }
});
