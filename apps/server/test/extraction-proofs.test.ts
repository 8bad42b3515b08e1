/**
 * Two proofs of issue 5 on a real database:
 * - no route returns confidential-personal fields in bulk without an approved request: every route
 *   of the app is enumerated (Fastify's route table, cross-checked with the OpenAPI document) and
 *   called by an administrator holding every role and a grant on every field, with the bodies and
 *   queries that would widen a read; no response may carry more than one confidential value;
 * - trace names the right export from a 30-row fragment with shuffled and dropped columns, from a
 *   Shift_JIS re-save, and from an XLSX converted to CSV — between exports of the same rows.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import iconv from 'iconv-lite';
import { ROLES } from '@mamori/contracts';
import { startTestApp, signIn, PURPOSE, type Session, type TestApp } from './support/app.ts';
import { identity, systemActor } from '../src/modules/identity/index.ts';
import { readLeakedFile, runDueExtractions, traceFile } from '../src/modules/extraction/index.ts';
import { generateDemoContacts } from '../src/modules/vault/vault.demo-data.ts';

let t: TestApp;
let handler: Session;
let owner: Session;
let secops: Session;
const CONTACTS = 150;
const contacts = [...generateDemoContacts(CONTACTS, 1)];
const ALL_FIELDS = ['corporate_number', 'company_name', 'company_name_kana', 'prefecture', 'company_address', 'office_postal_code', 'department', 'title', 'person_name', 'person_name_kana', 'email', 'direct_phone', 'mobile_phone'];
const system = systemActor({ ip: null, userAgent: 'test', deviceId: null });

before(async () => {
  t = await startTestApp({ demoContacts: CONTACTS });
  handler = await signIn(t, 'handler');
  owner = await signIn(t, 'owner');
  secops = await signIn(t, 'secops');
});
after(async () => {
  await t?.close();
});

async function exportOnce(format: 'csv_utf8' | 'csv_sjis' | 'xlsx', fields = ALL_FIELDS): Promise<{ id: string; file: Buffer }> {
  const r = await handler.request('POST', '/api/extractions', { dataset: 'contacts', purpose: PURPOSE, fields, criteria: [], format, recipient: { kind: 'internal' } });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  const ex = r.json.extraction;
  assert.equal((await owner.request('POST', `/api/approvals/requests/${ex.approvalRequestId}/approve`, { reason: 'ok' })).status, 200);
  assert.equal(await runDueExtractions(t.ctx, { dir: path.join(t.dir, 'exports') }), 1);
  const d = await t.app.inject({ method: 'GET', url: `/api/extractions/${ex.id}/download`, headers: { cookie: `mamori_session=${handler.cookie}` } });
  assert.equal(d.statusCode, 200);
  return { id: ex.id, file: d.rawPayload };
}

const csvLine = (cells: readonly string[]) => cells.map((c) => (/[",\r\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c)).join(',');

/** 30 data rows from the middle, columns shuffled, one dropped: what a careless leak looks like. */
function fragment(rows: string[][], drop: number): string {
  const data = rows.slice(1).slice(40, 70);
  assert.equal(data.length, 30);
  const order = [...data[0]!.keys()].filter((i) => i !== drop).reverse();
  [order[0], order[3]] = [order[3]!, order[0]!];
  return data.map((r) => csvLine(order.map((i) => r[i] ?? ''))).join('\r\n') + '\r\n';
}

async function trace(bytes: Uint8Array) {
  return traceFile(t.ctx, system, bytes);
}

void test('trace names the right export: a 30-row fragment with shuffled and dropped columns, a Shift_JIS re-save, an XLSX saved as CSV', async () => {
  // Three exports of exactly the same rows: only the watermarks tell them apart.
  const a = await exportOnce('csv_utf8');
  const b = await exportOnce('csv_utf8');
  const c = await exportOnce('xlsx');
  const show = (r: { matches: unknown[] }) => JSON.stringify(r.matches);

  // Whole file: canaries found, and the fingerprint agrees.
  const whole = await trace(a.file);
  assert.equal(whole.matches[0]!.extractionId, a.id);
  assert.equal(whole.matches[0]!.confidence, 'certain');
  assert.ok(whole.matches[0]!.canaries >= 3, JSON.stringify(whole.matches[0]));
  assert.equal(whole.matches[0]!.requester.login, 'handler');
  assert.equal(whole.matches[0]!.approvers[0]!.login, 'owner');
  assert.ok(!whole.matches.some((m) => m.extractionId === b.id && (m.confidence === 'certain' || m.confidence === 'high')), show(whole));

  // A 30-row fragment of B, columns shuffled and the e-mail column dropped (likely no canary in it).
  const rowsB = readLeakedFile(b.file);
  const fragB = fragment(rowsB, ALL_FIELDS.indexOf('email'));
  const fromFragment = await trace(Buffer.from(fragB, 'utf8'));
  assert.equal(fromFragment.rowsRead, 30);
  assert.equal(fromFragment.matches[0]!.extractionId, b.id, JSON.stringify(fromFragment.matches));
  assert.ok(['certain', 'high'].includes(fromFragment.matches[0]!.confidence), show(fromFragment));
  assert.ok(!fromFragment.matches.some((m) => m.extractionId !== b.id && (m.confidence === 'certain' || m.confidence === 'high')), `no other export of the same rows matches: ${show(fromFragment)}`);

  // Shift_JIS re-save of the UTF-8 file (what Excel does in Japan), whole and as a fragment.
  const sjis = iconv.encode(a.file.subarray(3).toString('utf8'), 'cp932');
  const fromSjis = await trace(sjis);
  assert.equal(fromSjis.matches[0]!.extractionId, a.id);
  assert.equal(fromSjis.matches[0]!.confidence, 'certain');
  const fragSjis = await trace(iconv.encode(fragB, 'cp932'));
  assert.equal(fragSjis.matches[0]!.extractionId, b.id);

  // XLSX → CSV, then a fragment of that.
  const rowsC = readLeakedFile(c.file);
  assert.equal(rowsC[0]![0], '法人番号');
  const csvFromXlsx = rowsC.map(csvLine).join('\r\n');
  assert.equal((await trace(Buffer.from(csvFromXlsx, 'utf8'))).matches[0]!.extractionId, c.id);
  assert.equal((await trace(Buffer.from(fragment(rowsC, 0), 'utf8'))).matches[0]!.extractionId, c.id);

  // Unrelated data traces to nothing certain.
  const unrelated = await trace(Buffer.from([...generateDemoContacts(30, 99)].map((x) => csvLine(Object.values(x))).join('\r\n'), 'utf8'));
  assert.ok(!unrelated.matches.some((m) => m.confidence === 'certain' || m.confidence === 'high'), show(unrelated));

  // Over HTTP: the security center may upload; a handler may not.
  const up = await t.app.inject({ method: 'POST', url: '/api/trace', payload: Buffer.from(fragB, 'utf8'), headers: { 'content-type': 'application/octet-stream', cookie: `mamori_session=${secops.cookie}`, 'x-csrf-token': secops.csrf } });
  assert.equal(up.statusCode, 200, up.body);
  assert.equal(up.json().matches[0].extractionId, b.id);
  const denied = await t.app.inject({ method: 'POST', url: '/api/trace', payload: Buffer.from(fragB, 'utf8'), headers: { 'content-type': 'application/octet-stream', cookie: `mamori_session=${handler.cookie}`, 'x-csrf-token': handler.csrf } });
  assert.equal(denied.statusCode, 403);
});

/** How many distinct confidential values (mobile numbers) a response body carries in clear. */
function confidentialIn(body: string): number {
  const flat = body.replace(/[-\s]/g, '');
  return contacts.filter((c) => flat.includes(c.mobile_phone.replace(/-/g, ''))).length;
}

void test('no route returns confidential-personal fields in bulk without an approved request (every route enumerated)', async () => {
  const created = await identity.createUser(t.ctx, system, { login: 'almighty', displayName: '全権 太郎', employmentType: 'employee', roles: [...ROLES], password: 'a long enough password 1' });
  t.passwords.set('almighty', 'a long enough password 1');
  const g = await owner.request('POST', '/api/datasets/contacts/grants', {
    subjectType: 'user', subjectId: created.user.id, fields: ALL_FIELDS, unmaskFields: ['person_name', 'email', 'mobile_phone'], purposes: [PURPOSE], canWrite: true,
    validUntil: new Date(t.clock.now().getTime() + 30 * 86_400_000).toISOString(), reason: 'test: every field',
  });
  assert.equal(g.status, 201, JSON.stringify(g.json));
  const admin = await signIn(t, 'almighty');
  // A pending (unapproved) extraction of the confidential field, for the routes that take an extraction id.
  const pending = await admin.request('POST', '/api/extractions', { dataset: 'contacts', purpose: PURPOSE, fields: ALL_FIELDS, criteria: [], format: 'csv_utf8', recipient: { kind: 'internal' } });
  assert.equal(pending.status, 201, JSON.stringify(pending.json));
  const extractionId = pending.json.extraction.id as string;
  const recordId = ((await admin.request('POST', '/api/datasets/contacts/records/search', { purpose: PURPOSE, criteria: [], limit: 1 })).json.records[0].id) as string;

  // The route table: Fastify's own, cross-checked with the OpenAPI document.
  // printRoutes draws a tree: each line is a segment below the nearest shallower line.
  const table = t.app.printRoutes({ commonPrefix: false });
  const routes = new Map<string, Set<string>>();
  const stack: string[] = [];
  for (const line of table.split('\n')) {
    const m = /^([│ ]*)[├└]── (\S+)(?: \(([^)]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = [...m[1]!].length / 4;
    stack.length = depth;
    stack.push(m[2]!);
    const full = stack.join('');
    if (!m[3] || !full.startsWith('/api/')) continue;
    const methods = m[3].split(',').map((x) => x.trim()).filter((x) => !['HEAD', 'OPTIONS'].includes(x));
    routes.set(full, new Set([...(routes.get(full) ?? []), ...methods]));
  }
  const openapi = t.app.swagger() as { paths: Record<string, Record<string, unknown>> };
  for (const [p, ops] of Object.entries(openapi.paths)) {
    if (!p.startsWith('/api/')) continue;
    const fastifyPath = p.replace(/\{(\w+)\}/g, ':$1');
    for (const op of Object.keys(ops)) assert.ok(routes.get(fastifyPath)?.has(op.toUpperCase()), `${op} ${p} is in the route table:\n${table}`);
  }
  const exercised: string[] = [];
  const queries = ['', `?limit=100000&purpose=${encodeURIComponent(PURPOSE)}&dataset=contacts&recordId=${recordId}`];
  const bodies: unknown[] = [
    {},
    { purpose: PURPOSE, criteria: [], limit: 100 },
    { purpose: PURPOSE, criteria: [], limit: 100000 },
    { purpose: PURPOSE, field: 'mobile_phone' },
    { dataset: 'contacts', purpose: PURPOSE, fields: ALL_FIELDS, criteria: [], format: 'csv_utf8', recipient: { kind: 'internal' } },
  ];
  // Routes that end the session go last; the rest in table order.
  const ordered = [...routes.entries()].sort(([a], [b]) => Number(a.startsWith('/api/auth/')) - Number(b.startsWith('/api/auth/')));
  for (const [route, methods] of ordered) {
    const url = route
      .replace(':name', 'contacts')
      .replace(':id', route.startsWith('/api/extractions/') ? extractionId : recordId)
      .replace(/:\w+/g, '1');
    for (const method of methods) {
      for (const q of queries) {
        for (const b of method === 'GET' || method === 'DELETE' ? [undefined] : bodies) {
          const r = await t.app.inject({
            method: method as 'GET', url: url + q,
            headers: { cookie: `mamori_session=${admin.cookie}`, 'x-csrf-token': admin.csrf },
            ...(b === undefined ? {} : { payload: b as object }),
          });
          const n = confidentialIn(r.body);
          assert.ok(n <= 1, `${method} ${route}${q} returned ${n} confidential values (status ${r.statusCode})`);
        }
      }
      exercised.push(`${method} ${route}`);
    }
  }
  assert.ok(exercised.length >= 50, `routes exercised: ${exercised.length}`);
  for (const must of ['POST /api/datasets/:name/records/search', 'GET /api/datasets/:name/records/:id', 'POST /api/datasets/:name/records/:id/unmask', 'GET /api/extractions/:id/download', 'POST /api/extractions/preview', 'GET /api/audit/events']) {
    assert.ok(exercised.includes(must), `${must} was exercised`);
  }
  // The detector works: the same contacts in clear would have been caught.
  assert.equal(confidentialIn(JSON.stringify(contacts.slice(0, 10))), 10);
});
