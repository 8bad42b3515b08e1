/**
 * The lean record-read route (ADR 0012) over a real socket: it answers GET
 * /api/datasets/:name/records/:id without passing through Fastify, and every answer — a masked
 * record, each refusal, each error — is the one the Fastify route gives for the same request (same
 * status, body, security headers, no-store, a fresh request id), each read is audited under the
 * request id it answered with, a token revoked or a user retired in the database (another node) is
 * refused on the very next request, and shapes it does not take go to Fastify unchanged.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { PassThrough } from 'node:stream';
import { buildApp } from '../src/app.ts';
import { identity, systemActor } from '../src/modules/identity/index.ts';
import { createLogger } from '../src/platform/logger.ts';
import { PURPOSE, signIn, startTestApp, type Session, type TestApp } from './support/app.ts';

let t: TestApp;
let base: string;
let handler: Session;
let handlerToken: string;
let recordId: string;
/** URLs Fastify's own onRequest hook saw: the lean route's requests must not appear. */
const fastifySaw: string[] = [];

before(async () => {
  t = await startTestApp({
    demoContacts: 20,
    setup: (app) => app.addHook('onRequest', (request, _reply, done) => {
      fastifySaw.push(request.url);
      done();
    }),
  });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const address = t.app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  handler = await signIn(t, 'handler');
  const h = (await identity.findUserByLogin(t.ctx, 'handler'))!;
  handlerToken = (await identity.createApiToken(t.ctx, systemActor({ ip: null, userAgent: null, deviceId: null }), { userId: h.id, name: 'lean' })).token;
  recordId = (await t.ctx.db.selectFrom('records').select('id').orderBy('id').executeTakeFirstOrThrow()).id;
});
after(async () => t.close());

type Answer = { status: number; headers: Record<string, string>; body: string };

/** Headers that differ between two answers by nature (time, connection handling, the request's own id). */
const PER_ANSWER = new Set(['date', 'connection', 'keep-alive', 'x-request-id', 'transfer-encoding']);

function comparable(a: Answer): { status: number; headers: Record<string, string>; body: unknown } {
  const headers = Object.fromEntries(Object.entries(a.headers).filter(([k]) => !PER_ANSWER.has(k)));
  const body = JSON.parse(a.body) as { error?: { requestId?: string } };
  if (body.error) {
    assert.equal(body.error.requestId, a.headers['x-request-id'], 'an error names the request id of its answer');
    body.error.requestId = '<id>';
  }
  return { status: a.status, headers, body };
}

async function overSocket(path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const before = fastifySaw.length;
  const r = await fetch(base + path, { headers });
  const body = await r.text();
  const h: Record<string, string> = {};
  r.headers.forEach((v, k) => (h[k] = v));
  return { status: r.status, headers: h, body, ...{ viaFastify: fastifySaw.length > before } } as Answer & { viaFastify: boolean };
}

async function throughFastify(path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const r = await t.app.inject({ method: 'GET', url: path, headers });
  return { status: r.statusCode, headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, String(v)])), body: r.body };
}

const readPath = (id: string, purpose: string | null = PURPOSE, dataset = 'contacts') =>
  `/api/datasets/${dataset}/records/${id}${purpose === null ? '' : `?purpose=${encodeURIComponent(purpose)}`}`;

async function auditedUnder(requestId: string): Promise<any[]> {
  const rows = (await sql<{ payload: string }>`SELECT payload FROM audit_pending UNION ALL SELECT payload FROM audit_events`.execute(t.ctx.db)).rows;
  return rows.map((r) => JSON.parse(r.payload)).filter((e) => e.request === requestId);
}

test('every answer of the lean route equals the Fastify route\'s answer to the same request, and Fastify never sees it', async () => {
  const bearer = { authorization: `Bearer ${handlerToken}` };
  const cookie = { cookie: `mamori_session=${handler.cookie}` };
  const cases: { what: string; path: string; headers: Record<string, string>; status: number; code?: string }[] = [
    { what: 'a read with an API token', path: readPath(recordId), headers: bearer, status: 200 },
    { what: 'a read with the session cookie', path: readPath(recordId), headers: cookie, status: 200 },
    { what: 'a purpose with + for a space', path: `/api/datasets/contacts/records/${recordId}?purpose=a+b`, headers: bearer, status: 403, code: 'policy.denied' },
    { what: 'no credential', path: readPath(recordId), headers: {}, status: 401, code: 'auth.required' },
    { what: 'an unknown API token', path: readPath(recordId), headers: { authorization: 'Bearer mmt_nosuchtoken' }, status: 401, code: 'auth.required' },
    { what: 'no purpose', path: readPath(recordId, null), headers: bearer, status: 400, code: 'policy.purpose_required' },
    { what: 'an unregistered purpose', path: readPath(recordId, '私用'), headers: bearer, status: 403, code: 'policy.denied' },
    { what: 'an id that is not a UUID', path: readPath('not-a-uuid'), headers: bearer, status: 404, code: 'not_found' },
    { what: 'an unknown record', path: readPath('00000000-0000-4000-8000-000000000000'), headers: bearer, status: 404, code: 'not_found' },
    { what: 'an unknown dataset', path: readPath(recordId, PURPOSE, 'nosuch'), headers: bearer, status: 404, code: 'not_found' },
  ];
  for (const c of cases) {
    const lean = (await overSocket(c.path, c.headers)) as Answer & { viaFastify: boolean };
    assert.equal(lean.viaFastify, false, `${c.what}: answered by the lean route`);
    const fastify = await throughFastify(c.path, c.headers);
    assert.equal(lean.status, c.status, `${c.what}: ${lean.body}`);
    assert.deepEqual(comparable(lean), comparable(fastify), c.what);
    assert.match(lean.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/, c.what);
    assert.notEqual(lean.headers['x-request-id'], fastify.headers['x-request-id'], c.what);
    assert.equal(lean.headers['cache-control'], 'no-store', c.what);
    assert.equal(lean.headers['x-frame-options'], 'DENY', c.what);
    assert.ok(lean.headers['content-security-policy']?.includes("frame-ancestors 'none'"), c.what);
    if (c.code) assert.equal(JSON.parse(lean.body).error.code, c.code, c.what);
  }
});

test('a lean read is masked and audited once under the request id it answered with', async () => {
  const r = await overSocket(readPath(recordId), { authorization: `Bearer ${handlerToken}` });
  assert.equal(r.status, 200);
  const { record } = JSON.parse(r.body);
  assert.equal(record.id, recordId);
  assert.ok(record.masked.includes('person_name') && record.masked.includes('email'), 'personal fields are masked');
  const events = await auditedUnder(r.headers['x-request-id']!);
  assert.equal(events.length, 1, 'exactly one audit event');
  assert.equal(events[0].action, 'record.read');
  assert.equal(events[0].result, 'ok');
  assert.deepEqual(events[0].records, [recordId]);
  assert.equal(events[0].purpose, PURPOSE);
  assert.equal(events[0].terminal.ip, '127.0.0.1');

  const denied = await overSocket(readPath(recordId, '私用'), { authorization: `Bearer ${handlerToken}` });
  const deny = await auditedUnder(denied.headers['x-request-id']!);
  assert.equal(deny.length, 1, 'a refused read is audited too');
  assert.equal(deny[0].decision, 'deny');
});

test('shapes the lean route does not take go to Fastify and keep its answers', async () => {
  const bearer = { authorization: `Bearer ${handlerToken}` };
  for (const [what, path, status] of [
    ['another query parameter', `${readPath(recordId)}&x=1`, 400],
    ['an empty purpose', `/api/datasets/contacts/records/${recordId}?purpose=`, 400],
    ['a repeated purpose', `${readPath(recordId)}&purpose=x`, 400],
    ['a percent-encoded id', `/api/datasets/contacts/records/%41${recordId.slice(1)}?purpose=x`, 403],
  ] as const) {
    const r = (await overSocket(path, bearer)) as Answer & { viaFastify: boolean };
    assert.equal(r.viaFastify, true, `${what}: Fastify answers`);
    assert.equal(r.status, status, `${what}: ${r.body}`);
    assert.deepEqual(comparable(r), comparable(await throughFastify(path, bearer)), what);
  }
});

test('the lean route counts its answers in the request metrics under the route template', async () => {
  const count = async () => {
    const m = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    const line = m.split('\n').find((l) => l.startsWith('mamori_http_requests_total{') && l.includes('route="/api/datasets/:name/records/:id"') && l.includes('status="2xx"'));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };
  const before = await count();
  await overSocket(readPath(recordId), { authorization: `Bearer ${handlerToken}` });
  await overSocket(readPath(recordId), { authorization: `Bearer ${handlerToken}` });
  assert.equal(await count(), before + 2);
});

test('at log level info the lean route writes the request lines Fastify writes, with the request id and no personal data', async () => {
  const lines: string[] = [];
  const sink = new PassThrough();
  sink.on('data', (d: Buffer) => lines.push(...d.toString('utf8').split('\n').filter(Boolean)));
  const app = await buildApp({ ...t.ctx, logger: createLogger('info', sink) }, { secureCookies: false, trustProxy: false, dataDir: t.dir });
  await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const r = await fetch(`http://127.0.0.1:${port}${readPath(recordId)}`, { headers: { authorization: `Bearer ${handlerToken}` } });
    const body = await r.text();
    assert.equal(r.status, 200);
    const id = r.headers.get('x-request-id')!;
    const mine = lines.map((l) => JSON.parse(l)).filter((l) => l.reqId === id);
    assert.deepEqual(mine.map((l) => l.msg), ['incoming request', 'request completed']);
    assert.equal(mine[0].req.method, 'GET');
    assert.equal(mine[0].req.url, readPath(recordId));
    assert.equal(mine[0].req.remoteAddress, '127.0.0.1');
    assert.equal(mine[1].res.statusCode, 200);
    assert.equal(typeof mine[1].responseTime, 'number');
    // The same fields as Fastify's own lines for the same request (its route, through inject).
    await app.inject({ method: 'GET', url: readPath(recordId), headers: { authorization: `Bearer ${handlerToken}` } });
    const theirs = lines.map((l) => JSON.parse(l)).filter((l) => l.reqId && l.reqId !== id && l.req?.url === readPath(recordId));
    assert.equal(theirs.length, 1);
    // (inject has no client port; over a socket Fastify logs it too, as the lean route does.)
    assert.deepEqual(Object.keys(mine[0].req).filter((k) => k !== 'remotePort').sort(), Object.keys(theirs[0].req).sort());
    assert.equal(typeof mine[0].req.remotePort, 'number');
    assert.deepEqual(Object.keys(mine[0]).sort(), Object.keys(theirs[0]).sort());
    // Nothing of the answer (masked values included) and no credential reaches the log.
    const values = Object.values(JSON.parse(body).record.values as Record<string, string>).filter((v) => v.length > 3);
    const all = lines.join('\n');
    for (const v of values) assert.ok(!all.includes(v), 'no record value in the log');
    assert.ok(!all.includes(handlerToken), 'no token in the log');
  } finally {
    await app.close();
  }
});

test('a cached token revoked in the database (another node) is refused on the very next lean read', async () => {
  const h = (await identity.findUserByLogin(t.ctx, 'handler'))!;
  const { token, id } = await identity.createApiToken(t.ctx, systemActor({ ip: null, userAgent: null, deviceId: null }), { userId: h.id, name: 'lean-revoke' });
  const headers = { authorization: `Bearer ${token}` };
  assert.equal((await overSocket(readPath(recordId), headers)).status, 200, 'cached now');
  await sql`UPDATE api_tokens SET revoked_at = now() WHERE id = ${id}`.execute(t.ctx.db);
  const next = await overSocket(readPath(recordId), headers);
  assert.equal(next.status, 401);
  assert.equal(JSON.parse(next.body).error.code, 'auth.session_revoked');
  const events = await auditedUnder(next.headers['x-request-id']!);
  assert.equal(events.length, 1);
  assert.equal(events[0].result, 'revoked');
  const again = await overSocket(readPath(recordId), headers);
  assert.equal(again.status, 401);
  assert.equal(JSON.parse(again.body).error.code, 'auth.session_revoked');
});

test('a user retired in the database (another node) is refused on the very next lean read, session and token alike', async () => {
  // Last test: it retires the handler.
  const h = (await identity.findUserByLogin(t.ctx, 'handler'))!;
  const viaToken = { authorization: `Bearer ${handlerToken}` };
  const viaCookie = { cookie: `mamori_session=${handler.cookie}` };
  assert.equal((await overSocket(readPath(recordId), viaToken)).status, 200);
  assert.equal((await overSocket(readPath(recordId), viaCookie)).status, 200);
  await sql`UPDATE users SET status = 'retired' WHERE id = ${h.id}`.execute(t.ctx.db);
  for (const [what, headers] of [['token', viaToken], ['session', viaCookie]] as const) {
    const r = await overSocket(readPath(recordId), headers);
    assert.equal(r.status, 401, what);
    assert.equal(JSON.parse(r.body).error.code, 'auth.session_revoked', what);
  }
});
