/**
 * Every API response — success, refusal, error, unknown route — carries the security headers, is
 * marked `no-store` (it may hold personal data) and names its request id; the API docs page gets its
 * own, scoped Content-Security-Policy. (The console's files: e2e/admin.test.ts.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CONSOLE_CSP, DOCS_CSP } from '../src/platform/http/static.ts';
import { PURPOSE, signIn, startTestApp, type TestApp } from './support/app.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp({ demoContacts: 5 });
});
after(async () => t.close());

function assertSecurityHeaders(h: Record<string, unknown>, what: string, csp = CONSOLE_CSP) {
  assert.equal(h['content-security-policy'], csp, what);
  assert.equal(h['x-frame-options'], 'DENY', what);
  assert.equal(h['x-content-type-options'], 'nosniff', what);
  assert.equal(h['referrer-policy'], 'no-referrer', what);
  assert.match(String(h['permissions-policy']), /camera=\(\)/, what);
  assert.equal(h['cross-origin-opener-policy'], 'same-origin', what);
  assert.equal(h['cross-origin-resource-policy'], 'same-origin', what);
}

test('API answers of every kind carry the security headers, no-store and their request id', async () => {
  const handler = await signIn(t, 'handler');
  const record = (await t.ctx.db.selectFrom('records').select('id').executeTakeFirstOrThrow()).id;
  const cases = [
    { what: 'a record read (personal data)', res: await t.app.inject({ method: 'GET', url: `/api/datasets/contacts/records/${record}?purpose=${encodeURIComponent(PURPOSE)}`, headers: { cookie: `mamori_session=${handler.cookie}` } }), status: 200 },
    { what: 'no credential', res: await t.app.inject({ method: 'GET', url: `/api/datasets/contacts/records/${record}?purpose=x` }), status: 401 },
    { what: 'an unknown API route', res: await t.app.inject({ method: 'GET', url: '/api/no-such-thing', headers: { cookie: `mamori_session=${handler.cookie}` } }), status: 404 },
    { what: 'a bad body', res: await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { login: 1 } }), status: 400 },
  ];
  const ids = new Set<string>();
  for (const c of cases) {
    assert.equal(c.res.statusCode, c.status, c.what);
    assertSecurityHeaders(c.res.headers, c.what);
    assert.equal(c.res.headers['cache-control'], 'no-store', c.what);
    const id = String(c.res.headers['x-request-id']);
    assert.match(id, /^[0-9a-f-]{36}$/, c.what);
    ids.add(id);
  }
  assert.equal(ids.size, cases.length, 'one request id per request');
  // HSTS only when the server runs behind TLS (secure cookies); this test app does not.
  assert.equal(cases[0]!.res.headers['strict-transport-security'], undefined);
});

test('the API docs page has its own, scoped policy', async () => {
  const docs = await t.app.inject({ method: 'GET', url: '/docs/' });
  assert.equal(docs.statusCode, 200);
  assertSecurityHeaders(docs.headers, '/docs', DOCS_CSP);
  const health = await t.app.inject({ method: 'GET', url: '/healthz' });
  assertSecurityHeaders(health.headers, '/healthz');
});
