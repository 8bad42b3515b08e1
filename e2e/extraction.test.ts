/**
 * Extraction in a real browser: a handler builds an extraction (count and masked preview) and files
 * it; the data owner approves it in "waiting for me" after seeing its scope; the background job makes
 * the file; the handler downloads it once (a second download is refused).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
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

test('a handler builds an extraction, another user approves it, the handler downloads it once', { timeout: 240_000 }, async () => {
  const requester = await openPage(browser, server.url);
  const rp = requester.page;
  await signInAs(rp, 'handler');
  await rp.getByRole('link', { name: '新規データ抽出' }).click();
  await rp.getByRole('button', { name: 'すべて選択' }).click();
  await rp.getByRole('button', { name: '件数とプレビューを確認' }).click();
  const count = rp.getByTestId('extraction-count');
  await count.waitFor();
  assert.match((await count.textContent()) ?? '', /20件/);
  await screenshot(rp, '40-extraction-new');
  await rp.getByRole('button', { name: '承認を申請' }).click();
  await rp.getByTestId('extraction-state').first().waitFor();
  assert.equal((await rp.getByTestId('extraction-state').first().textContent())?.trim(), '承認待ち');

  const approver = await openPage(browser, server.url);
  const ap = approver.page;
  await signInAs(ap, 'owner');
  await ap.getByRole('link', { name: '承認待ち' }).click();
  const card = ap.getByTestId('inbox-request').first();
  await card.waitFor();
  const scope = (await card.getByTestId('approval-scope').textContent()) ?? '';
  assert.match(scope, /contacts/);
  assert.match(scope, /mobile_phone/);
  await screenshot(ap, '41-extraction-approve');
  await card.getByRole('button', { name: '承認する' }).click();
  await ap.getByText('承認待ちの申請はありません').waitFor();

  // The console polls: the job picks the approval up and the download appears.
  const link = rp.getByRole('link', { name: 'ダウンロード（1回限り）' });
  await link.waitFor({ timeout: 60_000 });
  await screenshot(rp, '42-extraction-ready');
  const [download] = await Promise.all([rp.waitForEvent('download'), link.click()]);
  const file = await readFile((await download.path())!);
  assert.deepEqual([...file.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
  const lines = file.toString('utf8').trim().split('\r\n');
  assert.ok(lines.length >= 1 + 20 + 1, `header, 20 rows and canaries: ${lines.length}`);
  assert.match(lines[0]!, /法人番号/);

  const again = await rp.context().request.get(`${server.url}/api/extractions/${(await rp.getByTestId('extraction-state').first().locator('xpath=ancestor::tr').getAttribute('data-testid'))!.slice('extraction-'.length)}/download`);
  assert.equal(again.status(), 409);
  await rp.reload();
  await rp.getByText('ダウンロード済み').waitFor();

  assert.deepEqual(unexpectedErrors(requester.log), []);
  assert.deepEqual(unexpectedErrors(approver.log), []);
  await requester.context.close();
  await approver.context.close();
});
