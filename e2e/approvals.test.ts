/**
 * The two-person rule in a real browser: a handler files a general request in the console; their
 * supervisor (an eligible approver) sees it in "waiting for me" with its scope, approves it with a
 * reason; the handler's bell then shows the decision, and the request reads as approved. The
 * requester never sees their own request among those waiting for a decision.
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
  server = await startServer({ contacts: 20 });
  browser = await launchBrowser();
  signInAs = signInner(server.passwords);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a handler files a request, their supervisor approves it in the browser, the handler sees the decision notification', { timeout: 240_000 }, async () => {
  const requester = await openPage(browser, server.url);
  const rp = requester.page;
  await signInAs(rp, 'handler');
  await rp.getByRole('link', { name: '自分の申請' }).click();
  await rp.getByRole('button', { name: '新しい申請' }).click();
  await rp.getByLabel(/^件名/).fill('展示会でのUSBメモリ一時利用');
  await rp.getByLabel(/^目的/).fill('展示会のデモ資料を貸与PCで表示するため');
  await rp.getByRole('button', { name: '申請する' }).click();
  const mine = rp.getByTestId('my-requests');
  await mine.getByText('展示会でのUSBメモリ一時利用').waitFor();
  assert.equal((await mine.getByTestId('approval-state').first().textContent())?.trim(), '承認待ち');
  // One's own request is never waiting for one's own decision.
  await rp.getByRole('link', { name: '承認待ち' }).click();
  await rp.getByText('承認待ちの申請はありません').waitFor();
  await screenshot(rp, '30-approvals-requester');

  const approver = await openPage(browser, server.url);
  const ap = approver.page;
  await signInAs(ap, 'owner');
  // The approver was notified at filing.
  await ap.locator('[data-testid="notification-bell"][data-unread="1"]').waitFor();
  await ap.getByRole('link', { name: '承認待ち' }).click();
  const card = ap.getByTestId('inbox-request').filter({ hasText: '展示会でのUSBメモリ一時利用' });
  await card.waitFor();
  const scope = (await card.getByTestId('approval-scope').textContent()) ?? '';
  assert.match(scope, /利用目的/);
  assert.match(scope, /展示会のデモ資料を貸与PCで表示するため/);
  assert.match((await card.textContent()) ?? '', /伊藤 大輔 \(handler\)/);
  await screenshot(ap, '31-approvals-inbox');
  await card.getByLabel(/^理由/).fill('貸与PCに限り許可します');
  await card.getByRole('button', { name: '承認する' }).click();
  await ap.getByText('承認待ちの申請はありません').waitFor();

  // The requester's bell (refreshed on navigation) shows the decision.
  await rp.getByRole('link', { name: '自分の申請' }).click();
  await rp.locator('[data-testid="notification-bell"][data-unread="1"]').waitFor();
  await rp.getByTestId('notification-bell').click();
  const note = rp.locator('[data-testid="notification"][data-kind="approval.approved"]');
  await note.waitFor();
  assert.match((await note.textContent()) ?? '', /承認されました: 一般申請/);
  assert.match((await note.textContent()) ?? '', /貸与PCに限り許可します/);
  await screenshot(rp, '32-approvals-notification');
  await note.click();
  await rp.locator('[data-testid="notification-bell"][data-unread="0"]').waitFor();
  // The request the notification tells of reads as approved (fetched again, not the list held since filing).
  const request = rp.getByTestId('my-requests').getByTestId('approval-state');
  await request.filter({ hasText: '承認済み' }).waitFor();
  assert.deepEqual((await request.allTextContents()).map((t) => t.trim()), ['承認済み']);

  assert.deepEqual(unexpectedErrors(requester.log), []);
  assert.deepEqual(unexpectedErrors(approver.log), []);
  await requester.context.close();
  await approver.context.close();
});
