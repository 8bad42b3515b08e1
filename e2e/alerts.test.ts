/**
 * Monitoring in a real browser: repeated failed sign-ins raise a "repeated denials" alert through the
 * real server's sequencer and monitor; the security center sees it in the alerts inbox with its
 * evidence from the audit log, and closes it with a note; the rules screen shows the rules.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchBrowser, openPage, screenshot, unexpectedErrors } from './support/browser.ts';
import { signInner } from './support/console.ts';
import { startServer, type RunningServer } from './support/server.ts';

let server: RunningServer;
let browser: Browser;
let signInAs: ReturnType<typeof signInner>;

before(async () => {
  server = await startServer({ contacts: 50 });
  browser = await launchBrowser();
  signInAs = signInner(server.passwords);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the security center sees a new alert in the inbox, reads its evidence and closes it with a note', { timeout: 240_000 }, async () => {
  // Five wrong passwords for one account within a minute: the default rule is 5 denials in 10 minutes.
  for (let i = 0; i < 5; i++) {
    const r = await fetch(new URL('/api/auth/login', server.url), {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login: 'komon', password: `wrong-${i}` }),
    });
    assert.ok(r.status === 401 || r.status === 429, `refused: ${r.status}`);
  }

  const { context, page, log } = await openPage(browser, server.url);
  await signInAs(page, 'secops');
  await page.getByRole('link', { name: 'アラート', exact: true }).click();
  const table = page.getByTestId('alerts-table');
  const row = table.locator('tr[data-rule="repeated_denials"]');
  // The monitor evaluates within a second or two of the sequencer; the inbox refreshes on reload.
  for (let i = 0; i < 20 && (await row.count()) === 0; i++) {
    await page.waitForTimeout(1000);
    await page.reload();
    await page.getByRole('heading', { name: 'アラート', exact: true }).waitFor();
  }
  await row.first().waitFor();
  assert.match((await row.first().textContent()) ?? '', /komon/);
  assert.match((await row.first().textContent()) ?? '', /未対応/);
  await screenshot(page, '30-alerts-inbox');

  await row.first().click();
  const detail = page.getByTestId('alert-detail');
  await detail.waitFor();
  assert.match((await detail.textContent()) ?? '', /拒否の繰り返し/);
  // The evidence is shown with the audit view's own table: the five refused sign-ins.
  const evidence = detail.getByTestId('audit-events');
  await evidence.waitFor();
  assert.equal(await evidence.locator('tbody tr[data-action="auth.login"]').count(), 5);
  await page.getByLabel(/^メモ/).fill('本人に確認: パスワード失念。ロック解除済み。');
  await screenshot(page, '31-alert-detail');
  await page.getByRole('button', { name: 'メモを付けて完了' }).click();
  await detail.getByText('完了', { exact: true }).first().waitFor();
  await detail.getByTestId('alert-notes').getByText(/パスワード失念/).waitFor();
  await page.keyboard.press('Escape');

  // The open list no longer has it; the closed list does.
  await page.locator('.mantine-SegmentedControl-root label', { hasText: '完了' }).click();
  await table.locator('tr[data-rule="repeated_denials"]').first().waitFor();
  assert.match((await table.locator('tr[data-rule="repeated_denials"]').first().textContent()) ?? '', /完了/);

  await page.getByRole('link', { name: '監視ルール' }).click();
  await page.getByRole('heading', { name: '大量閲覧' }).waitFor();
  await page.getByRole('button', { name: 'ルールを保存' }).waitFor();
  await screenshot(page, '32-monitor-rules');
  assert.deepEqual(unexpectedErrors(log), []);
  await context.close();
});
