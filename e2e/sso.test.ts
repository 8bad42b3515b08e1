/**
 * Sign-in with the company IdP in a real browser: Mamori (the built server, its own process) is
 * configured against an OpenID provider running in this test process over HTTPS (Mamori verifies
 * the IdP's certificate with MAMORI_OIDC_CA_FILE; the browser, standing in for a company machine
 * that trusts the IdP, ignores the throwaway CA). The login page shows the IdP button; a person
 * whose IdP login used MFA lands in the console with the mapped role and no TOTP step; one whose
 * IdP login was one factor gets Mamori's own MFA step; an account Mamori does not know is sent back
 * to the login page with the reason. No console errors on the way.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { startTestIdp, type TestIdp } from '../apps/server/test/support/idp.ts';
import { launchBrowser, openPage, screenshot, unexpectedErrors } from './support/browser.ts';
import { NEW_PASSWORD, totpCode } from './support/console.ts';
import { onFreePort, startServer, type RunningServer } from './support/server.ts';

let server: RunningServer;
let browser: Browser;
let idp: TestIdp;
let origin = '';
let dir = '';

/** The administrator through the API: one-time password → new password → TOTP; then creates users. */
async function adminApi(): Promise<(method: string, url: string, body?: unknown) => Promise<{ status: number; json: any }>> {
  let cookie = '';
  let csrf = '';
  const call = async (method: string, url: string, body?: unknown) => {
    const r = await fetch(`${origin}${url}`, {
      method, redirect: 'manual',
      headers: { ...(cookie ? { cookie } : {}), ...(csrf ? { 'x-csrf-token': csrf } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const set = r.headers.getSetCookie().map((c) => /^mamori_session=([^;]+)/.exec(c)?.[1]).find(Boolean);
    if (set) cookie = `mamori_session=${set}`;
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : null };
  };
  const oneTime = server.passwords.get('admin')!;
  const login = await call('POST', '/api/auth/login', { login: 'admin', password: oneTime });
  assert.equal(login.status, 200);
  csrf = login.json.csrfToken;
  assert.equal((await call('POST', '/api/auth/password', { currentPassword: oneTime, newPassword: NEW_PASSWORD })).status, 200);
  const enrol = await call('POST', '/api/auth/mfa/enroll');
  assert.equal((await call('POST', '/api/auth/mfa/verify', { code: totpCode(enrol.json.secret) })).status, 200);
  return call;
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'mamori-e2e-sso-'));
  // The IdP knows Mamori's callback by its port: a new port, a new IdP.
  server = await onFreePort(async (port) => {
    origin = `http://localhost:${port}`;
    idp = await startTestIdp({ redirectUris: [`${origin}/api/auth/oidc/callback`] });
    await writeFile(path.join(dir, 'ca.pem'), idp.ca);
    await writeFile(path.join(dir, 'oidc.secret'), idp.clientSecret, { mode: 0o600 });
    return startServer({
      contacts: 50, port,
      env: {
        MAMORI_PUBLIC_URL: origin, MAMORI_OIDC_ISSUER: idp.issuer, MAMORI_OIDC_CLIENT_ID: idp.clientId,
        MAMORI_OIDC_CLIENT_SECRET_FILE: path.join(dir, 'oidc.secret'), MAMORI_OIDC_CA_FILE: path.join(dir, 'ca.pem'),
        MAMORI_OIDC_LABEL: 'Test IdP', MAMORI_OIDC_SCOPES: 'openid email profile groups', MAMORI_OIDC_GROUP_ROLES: 'mamori-handlers=handler',
        // The demo users have no externalId (no SCIM here): this test matches first logins by e-mail.
        MAMORI_OIDC_MATCH_EMAIL: 'true', MAMORI_OIDC_MFA_AMR: 'mfa',
      },
    }).catch(async (err: unknown) => {
      await idp.close();
      throw err;
    });
  });
  const admin = await adminApi();
  for (const login of ['sato.sso@example.jp', 'suzuki.sso@example.jp']) {
    const r = await admin('POST', '/api/users', { login, displayName: login.split('@')[0], email: login, employmentType: 'employee' });
    assert.equal(r.status, 201, JSON.stringify(r.json));
  }
  idp.accounts.set('idp-sato', { sub: 'idp-sato', email: 'sato.sso@example.jp', groups: ['mamori-handlers'], amr: ['pwd', 'mfa'] });
  idp.accounts.set('idp-suzuki', { sub: 'idp-suzuki', email: 'suzuki.sso@example.jp', groups: [], amr: ['pwd'] });
  idp.accounts.set('idp-nobody', { sub: 'idp-nobody', email: 'nobody.sso@example.jp', groups: ['mamori-handlers'], amr: ['pwd', 'mfa'] });
  browser = await launchBrowser({ extraArgs: ['--ignore-certificate-errors'] });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await idp?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('sign in with the IdP: MFA at the IdP counts, one factor gets Mamori’s MFA step, an unknown account is refused with the reason', { timeout: 240_000 }, async () => {
  const { context, page, log } = await openPage(browser, origin);
  await page.goto('/');
  const button = page.getByRole('link', { name: 'Test IdP でログイン' });
  await button.waitFor();
  await screenshot(page, 'sso-01-login');

  idp.setNextLogin('idp-sato');
  await button.click();
  await page.getByTestId('current-user').waitFor();
  assert.match((await page.getByTestId('current-user').textContent()) ?? '', /sato\.sso@example\.jp/);
  await page.getByRole('banner').getByText('取扱者').waitFor();
  await page.getByRole('heading', { name: '記録検索' }).waitFor();
  await screenshot(page, 'sso-02-signed-in');
  assert.deepEqual(unexpectedErrors(log), []);
  await context.close();

  // Another person, another browser (the IdP remembers whoever signed in there).
  const second = await openPage(browser, origin);
  await second.page.goto('/');
  idp.setNextLogin('idp-suzuki');
  await second.page.getByRole('link', { name: 'Test IdP でログイン' }).click();
  await second.page.getByRole('heading', { name: '認証アプリの登録' }).waitFor();
  await screenshot(second.page, 'sso-03-mfa-step');
  assert.deepEqual(unexpectedErrors(second.log), []);
  await second.context.close();

  const third = await openPage(browser, origin);
  await third.page.goto('/');
  idp.setNextLogin('idp-nobody');
  await third.page.getByRole('link', { name: 'Test IdP でログイン' }).click();
  // The alert first, then its words: a refusal of another kind fails here saying which it was.
  const refusal = third.page.getByRole('alert');
  await refusal.waitFor();
  assert.match((await refusal.textContent()) ?? '', /この IdP アカウントでは Mamori にログインできません/);
  assert.equal(new URL(third.page.url()).search, '', 'the error code is taken out of the address bar');
  await screenshot(third.page, 'sso-04-refused');
  assert.deepEqual(unexpectedErrors(third.log), []);
  await third.context.close();
});
