/**
 * The outbound gateway in a real browser against a real upstream (smtp-server with the test CA):
 * a handler composes a mail with an attachment in the console; it is held; the transmission approver
 * sees sender, recipients, subject and the attachment's name in "waiting for me" and approves it; the
 * server's worker delivers it once over TLS with the handler's supervisor in the envelope (BCC); the
 * register shows it delivered with its approver.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchBrowser, openPage, screenshot, unexpectedErrors } from './support/browser.ts';
import { NEW_PASSWORD, signInner, totpCode } from './support/console.ts';
import { startServer, type RunningServer } from './support/server.ts';
import { startSmtpPeer, type SmtpPeer } from '../apps/server/test/support/smtp.ts';
import { testPki } from '../apps/server/test/support/tls.ts';
import { tempFolders } from '../apps/server/test/support/temp.ts';

let server: RunningServer;
let browser: Browser;
let upstream: SmtpPeer;
let signInAs: ReturnType<typeof signInner>;
const tempDir = tempFolders('mamori-e2e-relay-');

/** The administrator registers mail addresses through the API (the seed has none). */
async function setEmails(emails: Record<string, string>): Promise<void> {
  const call = async (cookie: string, csrf: string, method: string, url: string, body?: unknown) => {
    const r = await fetch(server.url + url, { method, headers: { cookie, 'x-csrf-token': csrf, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    if (!r.ok) throw new Error(`${method} ${url}: ${r.status} ${await r.text()}`);
    return r.json() as Promise<Record<string, unknown>>;
  };
  const login = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login: 'admin', password: server.passwords.get('admin') }) });
  const cookie = `mamori_session=${/mamori_session=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')![1]}`;
  const csrf = ((await login.json()) as { csrfToken: string }).csrfToken;
  await call(cookie, csrf, 'POST', '/api/auth/password', { currentPassword: server.passwords.get('admin'), newPassword: NEW_PASSWORD });
  const { secret } = (await call(cookie, csrf, 'POST', '/api/auth/mfa/enroll')) as { secret: string };
  await call(cookie, csrf, 'POST', '/api/auth/mfa/verify', { code: totpCode(secret) });
  const { users } = (await call(cookie, csrf, 'GET', '/api/users?limit=100')) as { users: { id: string; login: string; version: number }[] };
  for (const [loginName, email] of Object.entries(emails)) {
    const u = users.find((x) => x.login === loginName)!;
    await call(cookie, csrf, 'PATCH', `/api/users/${u.id}`, { email, version: u.version });
  }
}

before(async () => {
  upstream = await startSmtpPeer('starttls');
  const dir = await tempDir();
  const caFile = path.join(dir, 'ca.pem');
  await writeFile(caFile, (await testPki()).ca);
  server = await startServer({ contacts: 20, env: { MAMORI_RELAY_URL: upstream.url, MAMORI_RELAY_CA_FILE: caFile } });
  browser = await launchBrowser();
  signInAs = signInner(server.passwords);
  await setEmails({ handler: 'ito@mamori.example', owner: 'tanaka@mamori.example' });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await upstream?.close();
});

test('compose with an attachment → the approver approves → delivered once over TLS with the supervisor in BCC → the register shows it', { timeout: 300_000 }, async () => {
  const sender = await openPage(browser, server.url);
  const sp = sender.page;
  await signInAs(sp, 'handler');
  await sp.getByRole('link', { name: 'メール作成（外部送信）' }).click();
  await sp.getByLabel(/^宛先/).fill('buyer@client.example');
  await sp.getByLabel(/^件名/).fill('お見積りの送付');
  await sp.getByLabel(/^本文/).fill('お見積りをお送りします。ご確認ください。');
  await sp.locator('input[type="file"]').setInputFiles({ name: '見積書.txt', mimeType: 'text/plain', buffer: Buffer.from('御見積 合計 120,000円') });
  await sp.getByText('見積書.txt').first().waitFor();
  await screenshot(sp, '60-transmission-compose');
  await sp.getByRole('button', { name: '送信（承認へ）' }).click();
  const mine = sp.getByTestId('my-transmission').filter({ hasText: 'お見積りの送付' });
  await mine.waitFor();
  assert.equal((await mine.getByTestId('transmission-state').textContent())?.trim(), '承認待ち');
  assert.match((await mine.textContent()) ?? '', /添付ファイルあり/);
  assert.equal(upstream.received.length, 0, 'held: nothing sent on submission');

  const approver = await openPage(browser, server.url);
  const ap = approver.page;
  await signInAs(ap, 'approver');
  await ap.getByRole('link', { name: '承認待ち' }).click();
  const card = ap.getByTestId('inbox-request').filter({ hasText: 'お見積りの送付' });
  await card.waitFor();
  const scope = (await card.getByTestId('approval-scope').textContent()) ?? '';
  assert.match(scope, /ito@mamori\.example/);
  assert.match(scope, /buyer@client\.example/);
  assert.match(scope, /見積書\.txt/);
  assert.ok(!scope.includes('120,000') && !scope.includes('ご確認ください'), 'neither the body nor the file content');
  await screenshot(ap, '61-transmission-approval');
  // The register, opened beside the inbox before the approval: it shows the transmission waiting, and
  // later delivered without being reloaded (it refreshes itself while one is on its way).
  const watch = await approver.context.newPage();
  await watch.goto('/transmissions/register');
  const watched = watch.getByTestId('register-row').filter({ hasText: 'お見積りの送付' }).getByTestId('transmission-state');
  await watched.filter({ hasText: '承認待ち' }).waitFor();
  await card.getByLabel(/^理由/).fill('取引先への見積送付として承認');
  await card.getByRole('button', { name: '承認する' }).click();
  await ap.getByText('承認待ちの申請はありません').waitFor();

  // The server's worker consumes the approval and delivers (every 2 s).
  for (let i = 0; i < 60 && upstream.received.length === 0; i++) await new Promise((r) => setTimeout(r, 500));
  assert.equal(upstream.received.length, 1);
  const m = upstream.received[0]!;
  assert.equal(m.secure, true);
  assert.deepEqual([...m.envelope.to].sort(), ['buyer@client.example', 'tanaka@mamori.example'], 'the supervisor in BCC');
  assert.equal(m.parsed.attachments[0]?.filename, '見積書.txt');

  await watched.filter({ hasText: '送信済み' }).waitFor();
  await watch.close();

  await ap.getByRole('link', { name: '送信台帳' }).click();
  const row = ap.getByTestId('register-row').filter({ hasText: 'お見積りの送付' });
  await row.waitFor();
  // Delivered: the relay has the message, and the register says so once the worker has recorded it
  // (the register refreshes itself while a transmission is on its way).
  await row.getByTestId('transmission-state').filter({ hasText: '送信済み' }).waitFor();
  assert.match((await row.textContent()) ?? '', /加藤 真一 \(approver\)/);
  assert.match((await row.textContent()) ?? '', /伊藤 大輔 \(handler\)/);
  await screenshot(ap, '62-transmission-register');

  // The sender's own list says so too.
  await sp.getByRole('link', { name: '自分の送信' }).click();
  await sp.getByTestId('my-transmission').filter({ hasText: 'お見積りの送付' }).getByText('送信済み').waitFor();
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(upstream.received.length, 1, 'exactly once');

  assert.deepEqual(unexpectedErrors(sender.log), []);
  assert.deepEqual(unexpectedErrors(approver.log), []);
  await sender.context.close();
  await approver.context.close();
});
