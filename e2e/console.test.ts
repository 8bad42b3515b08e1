/**
 * The console in a real browser against the real server: a handler signs in for the first time
 * (one-time password → new password → TOTP enrolment from the secret on screen), searches (full-
 * width input), opens a record, unmasks one field for a purpose and sees it for a limited time; an
 * auditor, in another browser context, finds that unmask in the audit log and sees who accessed the
 * record; a dispatch worker sees no personal field at all. No console errors on the way.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openPage, screenshot, unexpectedErrors } from './support/browser.ts';
import { firstSignIn } from './support/console.ts';
import { startServer, type RunningServer } from './support/server.ts';

let server: RunningServer;
let browser: Browser;
let recordId = '';

before(async () => {
  server = await startServer({ contacts: 300 });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const toFullWidth = (s: string) => s.replace(/[0-9]/g, (d) => String.fromCharCode(d.charCodeAt(0) + 0xfee0));

/** Searches submitted on each page since it was loaded (the console numbers them). */
const searches = new WeakMap<Page, number>();

/** Submits the search form and waits for that search's results (not the previous ones). */
async function search(page: Page, button = '検索'): Promise<void> {
  const n = (searches.get(page) ?? 0) + 1;
  searches.set(page, n);
  await page.getByRole('button', { name: button, exact: true }).click();
  await page.locator(`[data-testid="results-area"][data-search="${n}"][aria-busy="false"]`).waitFor();
}

test('a handler signs in with TOTP, searches, opens a record and unmasks one field for a limited time', { timeout: 240_000 }, async () => {
  const { context, page, log } = await openPage(browser, server.url);
  // A controllable clock: the 30-second reveal can be fast-forwarded instead of waited for.
  await page.clock.install();
  await page.goto('/');
  await page.getByRole('heading', { name: 'ログイン' }).waitFor();
  await screenshot(page, '01-login');
  await firstSignIn(page, 'handler', server.passwords.get('handler')!, { screenshots: (n) => screenshot(page, n) });

  // Records: dataset and purpose come from the handler's own grant.
  await page.getByRole('heading', { name: '記録検索' }).waitFor();
  assert.equal(await page.getByLabel(/^利用目的/).first().inputValue(), '営業活動');
  await screenshot(page, '04-records-start');

  // A search with no condition lists records, masked: personal values are grey and contain ＊.
  await search(page);
  const firstRow = page.getByTestId('results').locator('tbody tr').first();
  assert.match((await firstRow.locator('td[data-field="person_name"]').textContent()) ?? '', /＊/);
  assert.ok((await page.locator('[data-testid="results"] .masked-value').count()) > 0);

  // Exact search on the corporate number typed in full-width digits (the server normalises).
  const corporateNumber = ((await firstRow.locator('td[data-field="corporate_number"]').textContent()) ?? '').trim();
  assert.match(corporateNumber, /^\d{13}$/);
  await page.getByLabel(/^法人番号/).fill(toFullWidth(corporateNumber));
  await search(page);
  const rows = page.getByTestId('results').locator('tbody tr');
  assert.ok((await rows.count()) >= 1);
  for (const cell of await page.locator('[data-testid="results"] td[data-field="corporate_number"]').all()) {
    assert.equal((await cell.textContent())?.trim(), corporateNumber);
  }
  await page.getByRole('button', { name: '条件をクリア' }).click();

  // Prefix search on the company name.
  await page.getByLabel(/^会社名（前方一致）/).fill('株式会社');
  await search(page);
  for (const cell of (await page.locator('[data-testid="results"] td[data-field="company_name"]').all()).slice(0, 10)) {
    assert.match((await cell.textContent()) ?? '', /^株式会社/);
  }
  await screenshot(page, '05-records-results');

  // Open the first record: masked by default.
  await page.getByRole('button', { name: '1件目の記録を開く', exact: true }).click();
  const fields = page.getByTestId('record-fields');
  await fields.waitFor();
  recordId = ((await page.getByRole('dialog').locator('code').first().textContent()) ?? '').trim();
  assert.match(recordId, /^[0-9a-f-]{36}$/);
  const nameRow = fields.locator('tr[data-field="person_name"]');
  const maskedName = (await nameRow.locator('.masked-value').textContent()) ?? '';
  assert.match(maskedName, /＊/);
  // mobile_phone is granted but not unmaskable: the drawer says so instead of offering a button.
  await fields.locator('tr[data-field="mobile_phone"]').getByText('解除権限なし').waitFor();

  // Unmask the name for the chosen purpose: the value appears with a countdown…
  await page.getByRole('button', { name: '氏名のマスクを解除' }).click();
  const revealed = page.getByTestId('unmasked-person_name');
  await revealed.waitFor();
  const clear = ((await revealed.textContent()) ?? '').trim();
  assert.ok(clear.length > 0 && !clear.includes('＊'), `unmasked value: ${clear}`);
  if (/\s/.test(maskedName.trim())) assert.equal(clear.split(/\s+/)[0], maskedName.trim().split(/\s+/)[0], 'the surname is the visible part of the mask');
  await nameRow.getByText(/^あと\d+秒$/).waitFor();
  await screenshot(page, '06-record-unmasked');
  // …and is hidden again after 30 seconds.
  await page.clock.fastForward(31_000);
  await revealed.waitFor({ state: 'detached' });
  assert.equal(((await nameRow.locator('.masked-value').textContent()) ?? '').trim(), maskedName.trim());

  // Nothing personal in the URL, the title or browser storage; only the language choice is stored.
  await page.keyboard.press('Escape');
  assert.equal(new URL(page.url()).pathname, '/records');
  assert.equal(new URL(page.url()).search, '');
  assert.equal(await page.title(), '記録検索 | 守り Mamori');
  await page.locator('label', { hasText: /^English$/ }).click();
  await page.getByRole('heading', { name: 'Records' }).waitFor();
  // (A string: this file is type-checked without the DOM library.)
  const storage = await page.evaluate('({ local: Object.keys(localStorage), session: Object.keys(sessionStorage) })');
  assert.deepEqual(storage, { local: ['mamori.lang'], session: [] });

  // After a full reload the session and the language survive; state-changing calls still carry the CSRF token.
  await page.reload();
  await page.getByRole('heading', { name: 'Records' }).waitFor();
  searches.delete(page); // a reload starts the count again
  await search(page, 'Search');
  await page.getByRole('button', { name: 'Open record 1', exact: true }).click();
  await page.getByRole('button', { name: 'Unmask Email' }).click();
  await page.getByTestId('unmasked-email').waitFor();
  assert.match((await page.getByTestId('unmasked-email').textContent()) ?? '', /@/);
  await screenshot(page, '07-record-unmasked-en');
  await page.keyboard.press('Escape');
  await page.locator('label', { hasText: /^日本語$/ }).click();
  await page.getByRole('heading', { name: '記録検索' }).waitFor();

  assert.deepEqual(unexpectedErrors(log), []);
  await context.close();
});

test('an auditor sees that unmask in the audit log, its full detail, and who accessed the record', { timeout: 180_000 }, async () => {
  assert.ok(recordId, 'the handler test ran first');
  const { context, page, log } = await openPage(browser, server.url);
  await firstSignIn(page, 'auditor', server.passwords.get('auditor')!);
  await page.getByRole('link', { name: '監査ログ' }).click();
  await page.getByTestId('audit-events').waitFor();

  await page.getByRole('textbox', { name: '操作（何を）' }).fill('マスク解除');
  await page.getByRole('option', { name: /マスク解除 \(record\.unmask\)/ }).click();
  await page.getByRole('textbox', { name: '判定' }).click();
  await page.getByRole('option', { name: '許可' }).click();
  await page.getByRole('button', { name: '絞り込む' }).click();
  const unmaskRows = page.locator('[data-testid="audit-events"] tbody tr[data-action="record.unmask"]');
  await unmaskRows.first().waitFor();
  assert.equal(await page.locator('[data-testid="audit-events"] tbody tr:not([data-action="record.unmask"])').count(), 0);
  assert.equal(await unmaskRows.count(), 2, 'name (ja) and e-mail (en)');
  const oldest = unmaskRows.last();
  assert.match((await oldest.textContent()) ?? '', /伊藤 大輔 \(handler\)/);
  assert.match((await oldest.textContent()) ?? '', /氏名/);
  assert.match((await oldest.textContent()) ?? '', /営業活動/);
  assert.match((await oldest.textContent()) ?? '', /許可/);
  assert.match((await oldest.textContent()) ?? '', /\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}:\d{2}/, 'JST, 年月日');
  await screenshot(page, '08-audit-log');

  // Keyboard: the row opens with Enter.
  await oldest.focus();
  await page.keyboard.press('Enter');
  const detail = page.getByTestId('event-detail');
  await detail.waitFor();
  const detailText = (await detail.textContent()) ?? '';
  for (const expected of ['record.unmask', 'person_name', '営業活動', 'grant.unmask', recordId, '伊藤 大輔 (handler)']) {
    assert.ok(detailText.includes(expected), `detail shows ${expected}`);
  }
  await screenshot(page, '09-audit-event-detail');
  await page.getByRole('tab', { name: 'JSON（記録されたまま）' }).click();
  const json = JSON.parse((await page.getByTestId('event-json').textContent()) ?? '{}');
  assert.equal(json.action, 'record.unmask');
  assert.deepEqual(json.records, [recordId]);
  assert.deepEqual(json.fields, ['person_name']);
  await page.getByRole('tab', { name: '一覧表示' }).click();

  // Who accessed this record: the handler's reads and unmasks of it.
  await detail.getByRole('button', { name: 'この記録のアクセス履歴' }).click();
  const access = page.getByTestId('record-access');
  await access.locator('tbody tr').first().waitFor();
  const actions = await access.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-action')));
  assert.ok(actions.includes('record.unmask') && actions.includes('record.read'), `actions: ${actions.join(',')}`);
  await screenshot(page, '10-record-access');

  assert.deepEqual(unexpectedErrors(log), []);
  await context.close();
});

test('a dispatch worker sees no personal field: not in the search form, the table or the record', { timeout: 120_000 }, async () => {
  const { context, page, log } = await openPage(browser, server.url);
  await firstSignIn(page, 'haken', server.passwords.get('haken')!);
  await page.getByRole('heading', { name: '記録検索' }).waitFor();
  for (const personal of ['氏名', '氏名カナ', 'メールアドレス', '直通電話', '携帯電話']) {
    assert.equal(await page.getByLabel(new RegExp(`^${personal}（`)).count(), 0, `no search box for ${personal}`);
  }
  await search(page);
  const headers = await page.locator('[data-testid="results"] thead th').allTextContents();
  assert.ok(headers.some((h) => h.includes('会社名')));
  for (const personal of ['氏名', 'メールアドレス', '直通電話', '携帯電話']) assert.ok(!headers.some((h) => h.includes(personal)), `no column ${personal}`);
  assert.equal(await page.locator('[data-testid="results"] .masked-value').count(), 0);
  await screenshot(page, '11-dispatch-records');

  await page.getByRole('button', { name: '1件目の記録を開く', exact: true }).click();
  await page.getByTestId('record-fields').waitFor();
  const recordText = (await page.getByTestId('record-fields').textContent()) ?? '';
  assert.ok(!/氏名|メールアドレス|電話|＊/.test(recordText), 'no personal field, masked or not');
  assert.equal(await page.getByRole('button', { name: /マスクを解除/ }).count(), 0);
  await page.keyboard.press('Escape');

  // Signing out ends the session on the server; the login screen says so.
  await page.getByRole('button', { name: 'ログアウト' }).click();
  await page.getByText('ログアウトしました。').waitFor();
  await page.reload();
  await page.getByRole('heading', { name: 'ログイン' }).waitFor();
  assert.equal(await page.getByTestId('session-ended').count(), 0);
  assert.deepEqual(unexpectedErrors(log), []);
  await context.close();
});
