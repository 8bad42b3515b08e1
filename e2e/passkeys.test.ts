/**
 * Passkeys in a real browser: Chromium's virtual authenticator (Chrome DevTools Protocol,
 * `WebAuthn.addVirtualAuthenticator`) stands in for the device. A handler signs in for the first
 * time, registers a passkey at the MFA step instead of an authenticator app, signs out, signs in
 * again and passes the MFA step with the passkey (the authenticator's signature counter grows); the
 * passkey is listed on the sign-in security page. No console errors on the way.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchBrowser, openPage, screenshot, unexpectedErrors } from './support/browser.ts';
import { NEW_PASSWORD, signIn } from './support/console.ts';
import { onFreePort, startServer, type RunningServer } from './support/server.ts';

let server: RunningServer;
let browser: Browser;
let origin = '';

before(async () => {
  // WebAuthn binds a passkey to a host name (never an IP address): the console is opened at localhost.
  server = await onFreePort((port) => {
    origin = `http://localhost:${port}`;
    return startServer({ contacts: 50, port, env: { MAMORI_PUBLIC_URL: origin } });
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a handler registers a passkey at the MFA step and passes the MFA step with it at the next sign-in', { timeout: 240_000 }, async () => {
  const { context, page, log } = await openPage(browser, origin);
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });

  await page.goto('/');
  const oneTime = server.passwords.get('handler')!;
  await signIn(page, 'handler', oneTime);
  await page.getByRole('heading', { name: '初期パスワードの変更' }).waitFor();
  await page.getByLabel(/^現在のパスワード/).fill(oneTime);
  await page.getByLabel(/^新しいパスワード(?!（)/).fill(NEW_PASSWORD);
  await page.getByLabel(/^新しいパスワード（確認）/).fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'パスワードを変更' }).click();

  // The MFA step offers a passkey of this device beside the authenticator app.
  await page.getByRole('button', { name: 'この端末のパスキーを登録' }).waitFor();
  await screenshot(page, 'passkey-01-mfa-step');
  await page.getByRole('button', { name: 'この端末のパスキーを登録' }).click();
  await page.getByTestId('current-user').waitFor();
  const registered = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(registered.credentials.length, 1, 'the virtual authenticator holds the new passkey');
  assert.equal(registered.credentials[0]!.rpId, 'localhost');

  // Let the records screen finish loading (its search form needs the datasets) before signing out.
  // waitForLoadState('networkidle') would not wait for it: the document reached that state at the
  // login screen, and the console does not navigate.
  await page.getByRole('heading', { name: '記録検索' }).waitFor();
  await page.getByLabel(/^会社名（前方一致）/).waitFor();
  await page.getByRole('button', { name: 'ログアウト' }).click();
  await page.getByRole('heading', { name: 'ログイン' }).waitFor();
  await signIn(page, 'handler', NEW_PASSWORD);
  await page.getByRole('button', { name: 'パスキーで確認' }).waitFor();
  await screenshot(page, 'passkey-02-verify');
  await page.getByRole('button', { name: 'パスキーで確認' }).click();
  await page.getByTestId('current-user').waitFor();
  const used = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.ok(used.credentials[0]!.signCount > registered.credentials[0]!.signCount, 'the signature counter grew');

  // The console opens personal data now: the records screen searches.
  await page.getByRole('heading', { name: '記録検索' }).waitFor();
  await page.goto('/account/security');
  const row = page.getByTestId('passkeys').locator('tbody tr');
  await row.first().waitFor();
  assert.equal(await row.count(), 1);
  await screenshot(page, 'passkey-03-security-page');
  assert.deepEqual(unexpectedErrors(log), []);
  await context.close();
});
