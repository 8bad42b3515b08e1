/**
 * Sign-in with the company IdP against a real OpenID provider running in this process
 * (`oidc-provider` over HTTPS with a throwaway CA), driven without a browser: the redirects are
 * followed with fetch and a cookie jar, the provider's interaction is completed by a small login
 * handler (the account the test chose), and Mamori's callback gets what the browser would bring.
 * Proves: a session is created for a SCIM-provisioned user; group mapping gives (and takes) the
 * mapped role and the change is audited; `amr` with `mfa`/`otp` counts as MFA, without it TOTP is
 * still required before any personal data; a wrong `state`, a code brought with another flow's PKCE
 * verifier, and a replayed callback are refused; unknown and retired users are refused; no claim
 * value reaches the audit log.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PURPOSE, startTestApp, type TestApp } from './support/app.ts';
import { startTestIdp, type IdpAccount, type TestIdp } from './support/idp.ts';
import { tlsFetch } from '../src/platform/http/tls-fetch.ts';
import { currentTotp } from '../src/platform/crypto/totp.ts';
import { CORE_USER, ENTERPRISE, PATCH_OP, ownerActor, scimClient, system, type ScimClient } from './scim-support.ts';
import { createGrant } from '../src/modules/vault/index.ts';
import { identity } from '../src/modules/identity/index.ts';

const MAMORI = 'https://mamori.test';
const REDIRECT = `${MAMORI}/api/auth/oidc/callback`;
type Account = IdpAccount;
let accounts: Map<string, Account>;

let t: TestApp;
let scim: ScimClient;
let idp: TestIdp;
let issuer = '';
let idpFetch: ReturnType<typeof tlsFetch>;

before(async () => {
  idp = await startTestIdp({ redirectUris: [REDIRECT] });
  ({ issuer, accounts } = idp);
  idpFetch = tlsFetch({ ca: idp.ca });
  t = await startTestApp({ demoContacts: 20 });
  t.ctx.oidc = {
    issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, redirectUrl: REDIRECT, scopes: 'openid email profile groups', label: 'Test IdP',
    groupsClaim: 'groups', groupRoles: { 'mamori-handlers': ['handler'], 'mamori-cpo': ['cpo', 'data_owner'] },
    mfaAmr: ['mfa', 'otp'], mfaAcr: [], matchClaim: 'sub', matchEmail: false, ca: idp.ca,
  };
  ({ request: scim } = await scimClient(t.ctx, t.app, 'idp'));
});

after(async () => {
  await t?.close();
  await idp?.close();
});

/** A SCIM-provisioned user whose externalId is the IdP subject, and the IdP account behind it. */
async function provision(userName: string, account: Omit<Account, 'email'>): Promise<string> {
  const r = await scim('POST', '/Users', { schemas: [CORE_USER, ENTERPRISE], userName, externalId: account.sub, active: true, emails: [{ value: userName, primary: true }] });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  accounts.set(account.sub, { ...account, email: userName });
  return r.json.id as string;
}

/** Cookies per host, as a browser keeps them (names only; paths ignored: each flow uses its own jar). */
class Jar {
  private readonly byHost = new Map<string, Map<string, string>>();
  store(host: string, setCookies: readonly string[]): void {
    const m = this.byHost.get(host) ?? new Map<string, string>();
    for (const c of setCookies) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(c) || /max-age=0/i.test(c)) m.delete(name);
      else m.set(name, value);
    }
    this.byHost.set(host, m);
  }
  header(host: string): string {
    return [...(this.byHost.get(host) ?? new Map<string, string>())].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  get(host: string, name: string): string | undefined {
    return this.byHost.get(host)?.get(name);
  }
}

/** `GET /api/auth/oidc/start` on Mamori: the IdP URL to go to, the flow cookie kept in the jar. */
async function start(jar: Jar): Promise<string> {
  const r = await t.app.inject({ method: 'GET', url: '/api/auth/oidc/start' });
  assert.equal(r.statusCode, 302, r.body);
  const setCookie = r.headers['set-cookie'];
  jar.store('mamori.test', Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []);
  assert.ok(jar.get('mamori.test', 'mamori_oidc'), 'a flow cookie');
  const location = String(r.headers.location);
  assert.ok(location.startsWith(`${issuer}/auth?`), location);
  const u = new URL(location);
  assert.equal(u.searchParams.get('code_challenge_method'), 'S256');
  assert.ok(u.searchParams.get('state') && u.searchParams.get('nonce') && u.searchParams.get('code_challenge'));
  return location;
}

/** Follows the IdP's redirects (login interaction included) until it sends the browser back to Mamori. */
async function atIdp(jar: Jar, url: string, login: string): Promise<URL> {
  idp.setNextLogin(login);
  let next = url;
  for (let hops = 0; hops < 10; hops++) {
    const u = new URL(next);
    if (u.origin === MAMORI) return u;
    const res = await idpFetch(next, { method: 'GET', headers: { cookie: jar.header(u.host) } });
    jar.store(u.host, res.headers.getSetCookie());
    await res.arrayBuffer();
    assert.ok(res.status >= 300 && res.status < 400, `the IdP answered ${res.status} at ${u.pathname}`);
    next = new URL(res.headers.get('location')!, next).href;
  }
  throw new Error('too many redirects');
}

type Back = { status: number; location: string; session: string | null };

/** Mamori's callback with the query the IdP sent and the cookies the jar holds. */
async function callback(jar: Jar, back: URL): Promise<Back> {
  const r = await t.app.inject({ method: 'GET', url: `${back.pathname}${back.search}`, headers: { cookie: jar.header('mamori.test') } });
  const setCookie = r.headers['set-cookie'];
  const cookies = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  const session = cookies.map((c) => /^mamori_session=([^;]+)/.exec(c)?.[1]).find(Boolean) ?? null;
  return { status: r.statusCode, location: String(r.headers.location), session };
}

async function signInWithIdp(login: string): Promise<Back> {
  const jar = new Jar();
  return callback(jar, await atIdp(jar, await start(jar), login));
}

async function as(session: string, method: 'GET' | 'POST', url: string, body?: unknown, csrf?: string) {
  const r = await t.app.inject({ method, url, headers: { cookie: `mamori_session=${session}`, ...(csrf ? { 'x-csrf-token': csrf } : {}) }, ...(body === undefined ? {} : { payload: body as object }) });
  return { status: r.statusCode, json: r.body ? JSON.parse(r.body) : null };
}

/** Audit events not yet integrated, in the order they were appended. */
async function pendingEvents(): Promise<any[]> {
  return (await t.ctx.db.selectFrom('audit_pending').select('payload').orderBy('id').execute()).map((r) => JSON.parse(r.payload));
}

async function loginEvents(): Promise<{ decision: string; rule: string; subject: string | null; actor: { user: string | null }; details: Record<string, unknown> }[]> {
  return (await pendingEvents()).filter((e) => e.action === 'auth.login' && e.details?.method === 'oidc');
}

test('the login page learns that SSO is on and the IdP’s name', async () => {
  const r = await t.app.inject({ method: 'GET', url: '/api/auth/oidc' });
  assert.deepEqual(r.json(), { enabled: true, label: 'Test IdP' });
});

test('a SCIM-provisioned user signs in: a Mamori session, the mapped role (audited), and TOTP still required when the IdP used one factor', async () => {
  const id = await provision('sato.sso@example.jp', { sub: 'okta-00u1sato', groups: ['mamori-handlers', 'unrelated-group'], amr: ['pwd'] });
  const back = await signInWithIdp('okta-00u1sato');
  assert.equal(back.status, 302);
  assert.equal(back.location, '/');
  assert.ok(back.session, 'a session cookie is set');
  const me = await as(back.session!, 'GET', '/api/auth/me');
  assert.equal(me.status, 200);
  assert.equal(me.json.user.id, id);
  assert.deepEqual(me.json.user.roles, ['handler'], 'the group mapping gives the mapped role');
  assert.equal(me.json.mfa, false, 'amr [pwd] is one factor');
  // Personal data waits for Mamori's own second factor (the gate refuses without it).
  const { csrfToken } = me.json;
  await createGrant(t.ctx, await ownerActor(t.ctx), 'contacts', { subjectType: 'user', subjectId: id, fields: ['company_name', 'person_name'], purposes: [PURPOSE], validUntil: new Date(t.clock.now().getTime() + 86_400_000), reason: 'sso test' });
  const refused = await as(back.session!, 'POST', '/api/datasets/contacts/records/search', { purpose: PURPOSE, criteria: [], limit: 3 }, csrfToken);
  assert.equal(refused.status, 403);
  assert.equal(refused.json.error.code, 'auth.mfa_required');
  const enrol = await as(back.session!, 'POST', '/api/auth/mfa/enroll', undefined, csrfToken);
  assert.equal(enrol.status, 200);
  assert.equal((await as(back.session!, 'POST', '/api/auth/mfa/verify', { code: currentTotp(enrol.json.secret, t.clock.now()) }, csrfToken)).status, 200);
  assert.equal((await as(back.session!, 'POST', '/api/datasets/contacts/records/search', { purpose: PURPOSE, criteria: [], limit: 3 }, csrfToken)).status, 200, 'after TOTP the gate opens');

  const events = await loginEvents();
  const ok = events.filter((e) => e.decision === 'allow' && e.actor.user === id);
  assert.equal(ok.length, 1);
  assert.equal(ok[0]!.rule, 'auth.oidc');
  assert.deepEqual({ matchedBy: ok[0]!.details.matchedBy, mfaFromIdp: ok[0]!.details.mfaFromIdp }, { matchedBy: 'externalId', mfaFromIdp: false });
  const mapping = (await pendingEvents()).filter((e) => e.rule === 'sso.group_mapping' && e.subject === id);
  assert.deepEqual(mapping.map((e) => e.details), [{ added: ['handler'], removed: [] }]);
  assert.equal((await t.ctx.db.selectFrom('users').select('oidc_subject').where('id', '=', id).executeTakeFirstOrThrow()).oidc_subject, 'okta-00u1sato', 'the subject is bound');
});

test('amr with mfa or otp marks the session MFA-verified; a later login with other groups moves the managed roles and leaves the others', async () => {
  const id = await provision('suzuki.sso@example.jp', { sub: 'entra-7c1e-suzuki', groups: ['mamori-cpo'], amr: ['pwd', 'mfa'] });
  // A role the mapping does not manage, given in the console, must survive SSO logins.
  await t.ctx.db.insertInto('user_roles').values({ user_id: id, role: 'hr', granted_at: t.clock.now() }).execute();
  const first = await signInWithIdp('entra-7c1e-suzuki');
  const me = await as(first.session!, 'GET', '/api/auth/me');
  assert.equal(me.json.mfa, true, 'amr mfa counts');
  assert.deepEqual(me.json.user.roles, ['cpo', 'data_owner', 'hr']);

  accounts.set('entra-7c1e-suzuki', { ...accounts.get('entra-7c1e-suzuki')!, groups: ['mamori-handlers'], amr: ['otp'] });
  const second = await signInWithIdp('entra-7c1e-suzuki');
  const me2 = await as(second.session!, 'GET', '/api/auth/me');
  assert.equal(me2.json.mfa, true, 'amr otp counts');
  assert.deepEqual(me2.json.user.roles, ['handler', 'hr']);
  const mapping = (await pendingEvents()).filter((e) => e.rule === 'sso.group_mapping' && e.subject === id);
  assert.deepEqual(mapping.map((e) => e.details), [{ added: ['cpo', 'data_owner'], removed: [] }, { added: ['handler'], removed: ['cpo', 'data_owner'] }]);

  // Unchanged groups: no role event.
  await signInWithIdp('entra-7c1e-suzuki');
  const again = (await pendingEvents()).filter((e) => e.rule === 'sso.group_mapping' && e.subject === id);
  assert.equal(again.length, 2);
});

test('an account created in the console with a one-time password signs in with the IdP (e-mail match when allowed): the unused one-time password is voided', async () => {
  const { user, oneTimePassword } = await identity.createUser(t.ctx, system, { login: 'kato.console@example.jp', displayName: '加藤', email: 'kato.console@example.jp', employmentType: 'employee' });
  assert.ok(oneTimePassword);
  accounts.set('okta-00u1kato', { sub: 'okta-00u1kato', email: 'kato.console@example.jp', groups: [], amr: ['mfa'] });
  assert.equal((await signInWithIdp('okta-00u1kato')).session, null, 'no e-mail matching unless allowed');
  t.ctx.oidc = { ...t.ctx.oidc!, matchEmail: true };
  try {
    const back = await signInWithIdp('okta-00u1kato');
    assert.ok(back.session);
    const me = await as(back.session!, 'GET', '/api/auth/me');
    assert.equal(me.json.user.id, user.id);
    assert.equal(me.json.user.passwordChangeRequired, false, 'no password change asked of an SSO session');
    assert.equal((await loginEvents()).at(-1)!.details.matchedBy, 'email');
    const pw = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { login: 'kato.console@example.jp', password: oneTimePassword } });
    assert.equal(pw.statusCode, 401, 'the one-time password no longer works');
  } finally {
    t.ctx.oidc = { ...t.ctx.oidc!, matchEmail: false };
  }
});

test('a wrong state is refused, and nothing is signed in', async () => {
  await provision('tanaka.sso@example.jp', { sub: 'okta-00u1tanaka', groups: [], amr: ['pwd', 'mfa'] });
  const jar = new Jar();
  const back = await atIdp(jar, await start(jar), 'okta-00u1tanaka');
  back.searchParams.set('state', 'forged-state-value');
  const r = await callback(jar, back);
  assert.equal(r.status, 302);
  assert.equal(r.location, '/?sso_error=auth.sso_failed');
  assert.equal(r.session, null);
  assert.equal((await loginEvents()).at(-1)!.rule, 'auth.oidc_state');
});

test('a code brought back with another flow’s cookie and state (so the other PKCE verifier) is refused by the IdP; a callback is used once', async () => {
  const a = new Jar();
  const b = new Jar();
  const backA = await atIdp(a, await start(a), 'okta-00u1tanaka');
  const backB = await atIdp(b, await start(b), 'okta-00u1tanaka');
  // Flow B's cookie and state with flow A's code: state matches B, but the verifier is B's.
  const injected = new URL(backB.href);
  injected.searchParams.set('code', backA.searchParams.get('code')!);
  const r = await callback(b, injected);
  assert.equal(r.location, '/?sso_error=auth.sso_failed');
  assert.equal(r.session, null);
  assert.equal((await loginEvents()).at(-1)!.rule, 'auth.oidc_code_rejected');
  // Flow A on its own is fine, once.
  const ok = await callback(a, backA);
  assert.ok(ok.session);
  const replay = await callback(a, backA);
  assert.equal(replay.location, '/?sso_error=auth.sso_failed');
  assert.equal(replay.session, null);
  assert.equal((await loginEvents()).at(-1)!.rule, 'auth.oidc_no_flow', 'the flow was used up');
  // Without the flow cookie at all (another browser): refused.
  const stranger = await callback(new Jar(), backB);
  assert.equal(stranger.session, null);
});

test('an IdP account unknown to Mamori is refused (SSO creates nobody); a leaver is refused; the audit log holds no claim value', async () => {
  accounts.set('okta-00u1nobody', { sub: 'okta-00u1nobody', email: 'nobody.sso@example.jp', groups: ['mamori-cpo'], amr: ['mfa'] });
  const usersBefore = (await t.ctx.db.selectFrom('users').select('id').execute()).length;
  const unknown = await signInWithIdp('okta-00u1nobody');
  assert.equal(unknown.location, '/?sso_error=auth.sso_refused');
  assert.equal(unknown.session, null);
  assert.equal((await t.ctx.db.selectFrom('users').select('id').execute()).length, usersBefore);
  assert.equal((await loginEvents()).at(-1)!.rule, 'auth.oidc_unknown_user');

  const id = await provision('leaver.sso@example.jp', { sub: 'okta-00u1leaver', groups: ['mamori-handlers'], amr: ['mfa'] });
  const live = await signInWithIdp('okta-00u1leaver');
  assert.ok(live.session);
  const off = await scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] });
  assert.equal(off.status, 200);
  assert.equal((await as(live.session!, 'GET', '/api/auth/me')).status, 401, 'the leaver’s SSO session is revoked with the rest');
  const refused = await signInWithIdp('okta-00u1leaver');
  assert.equal(refused.location, '/?sso_error=auth.sso_refused');
  assert.equal(refused.session, null);
  const last = (await loginEvents()).at(-1)!;
  assert.equal(last.rule, 'actor.inactive');
  assert.equal(last.actor.user, id);
  const deleted = await scim('DELETE', `/Users/${id}`);
  assert.equal(deleted.status, 204);
  assert.equal((await signInWithIdp('okta-00u1leaver')).session, null, 'retired: still refused');

  const all = (await t.ctx.db.selectFrom('audit_pending').select('payload').orderBy('id').execute()).map((r) => r.payload).filter((p) => p.includes('"oidc"')).join('\n');
  for (const secret of ['@example.jp', 'okta-00u1', 'entra-7c1e', 'mamori-handlers']) assert.ok(!all.includes(secret), `no ${secret} in SSO audit events`);
});
