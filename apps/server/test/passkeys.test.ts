/**
 * Passkeys as the second factor, with a software authenticator producing real WebAuthn data: a
 * first passkey registered right after the password satisfies the MFA gate as TOTP does; a later
 * session passes the gate with an assertion; a corrupted signature, a replayed assertion (its
 * challenge is used up), an assertion for another origin and a counter that does not grow (a clone)
 * are refused and audited; a second passkey and a removal need a verified session; removal is audited.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PURPOSE, signIn, startTestApp, type Session, type TestApp } from './support/app.ts';
import { SoftAuthenticator } from './support/webauthn.ts';

const ORIGIN = 'https://mamori.test';
let t: TestApp;
const key = new SoftAuthenticator('mamori.test', ORIGIN);

before(async () => {
  t = await startTestApp({ demoContacts: 20 });
  t.ctx.webauthn = { rpId: 'mamori.test', rpName: 'Mamori', origin: ORIGIN };
});
after(async () => {
  await t?.close();
});

const me = async (s: Session) => (await s.request('GET', '/api/auth/me')).json;
const search = (s: Session) => s.request('POST', '/api/datasets/contacts/records/search', { purpose: PURPOSE, criteria: [], limit: 3 });

async function denials(): Promise<string[]> {
  const rows = await t.ctx.db.selectFrom('audit_pending').select('payload').orderBy('id').execute();
  return rows.map((r) => JSON.parse(r.payload)).filter((e) => e.action === 'auth.passkey.verify' && e.decision === 'deny').map((e) => e.rule);
}

async function passWithPasskey(s: Session, opts: Parameters<SoftAuthenticator['assert']>[1] = {}) {
  const o = await s.request('POST', '/api/auth/passkeys/authenticate/options');
  assert.equal(o.status, 200, JSON.stringify(o.json));
  const response = key.assert(o.json.options, opts);
  return { response, result: await s.request('POST', '/api/auth/passkeys/authenticate', { response }) };
}

test('a first passkey registered after the password satisfies the MFA gate; a later session passes it with an assertion', async () => {
  const s = await signIn(t, 'handler', { mfa: false });
  assert.equal((await me(s)).mfa, false);
  assert.equal((await search(s)).json.error.code, 'auth.mfa_required');
  const o = await s.request('POST', '/api/auth/passkeys/register/options');
  assert.equal(o.status, 200, JSON.stringify(o.json));
  assert.equal(o.json.options.rp.id, 'mamori.test');
  const r = await s.request('POST', '/api/auth/passkeys/register', { name: 'Laptop', response: key.register(o.json.options) });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  const after = await me(s);
  assert.equal(after.mfa, true);
  assert.equal(after.user.passkeys, 1);
  assert.equal((await search(s)).status, 200);

  const next = await signIn(t, 'handler', { changePassword: false, mfa: false });
  assert.equal((await me(next)).mfa, false, 'a new session starts without MFA');
  const { result } = await passWithPasskey(next);
  assert.equal(result.status, 200, JSON.stringify(result.json));
  assert.equal((await me(next)).mfa, true);
  assert.equal((await search(next)).status, 200, 'the gate opens with the passkey');
});

test('a corrupted signature, a replay, another origin and a counter that does not grow are refused and audited', async () => {
  const s = await signIn(t, 'handler', { changePassword: false, mfa: false });
  const bad = await passWithPasskey(s, { corruptSignature: true });
  assert.equal(bad.result.status, 401);
  assert.equal(bad.result.json.error.code, 'auth.passkey_invalid');
  assert.equal((await me(s)).mfa, false);

  // A good assertion, replayed: once without a new challenge, once against a fresh challenge.
  const good = await passWithPasskey(s);
  assert.equal(good.result.status, 200);
  const s2 = await signIn(t, 'handler', { changePassword: false, mfa: false });
  assert.equal((await s2.request('POST', '/api/auth/passkeys/authenticate', { response: good.response })).status, 401, 'no challenge issued to this session');
  await s2.request('POST', '/api/auth/passkeys/authenticate/options');
  assert.equal((await s2.request('POST', '/api/auth/passkeys/authenticate', { response: good.response })).status, 401, 'the old challenge is not this one');
  assert.equal((await me(s2)).mfa, false);

  const phished = await passWithPasskey(s2, { origin: 'https://mamori.example.evil' });
  assert.equal(phished.result.status, 401);
  const cloned = await passWithPasskey(s2, { counter: 1 });
  assert.equal(cloned.result.status, 401);
  assert.equal((await me(s2)).mfa, false);
  assert.deepEqual((await denials()).slice(-5), ['auth.passkey_bad_signature', 'auth.passkey_challenge', 'auth.passkey_bad_signature', 'auth.passkey_bad_signature', 'auth.passkey_counter']);
});

test('a second passkey and a removal need a verified session; a removal is audited and the passkey stops working', async () => {
  const s = await signIn(t, 'handler', { changePassword: false, mfa: false });
  const o = await s.request('POST', '/api/auth/passkeys/register/options');
  assert.equal(o.status, 403);
  assert.equal(o.json.error.code, 'auth.mfa_required');
  const list = await s.request('GET', '/api/auth/passkeys');
  assert.equal(list.json.passkeys.length, 1);
  const id = list.json.passkeys[0].id as string;
  assert.equal((await s.request('DELETE', `/api/auth/passkeys/${id}`)).status, 403, 'not without MFA');
  assert.equal((await passWithPasskey(s)).result.status, 200);
  assert.equal((await s.request('DELETE', `/api/auth/passkeys/${id}`)).status, 200);
  const rows = await t.ctx.db.selectFrom('audit_pending').select('payload').orderBy('id').execute();
  assert.ok(rows.map((r) => JSON.parse(r.payload)).some((e) => e.action === 'auth.passkey.remove' && e.decision === 'allow'));
  const s2 = await signIn(t, 'handler', { changePassword: false, mfa: false });
  const gone = await s2.request('POST', '/api/auth/passkeys/authenticate/options');
  assert.equal(gone.status, 401);
  assert.equal(gone.json.error.code, 'auth.passkey_invalid');
});
