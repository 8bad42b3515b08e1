/**
 * Administration in a real browser: the handler register will not let a dispatch worker be given
 * personal fields and says why; HR retires a user after a confirmation that says what retirement
 * revokes, and that user's open console is sent to the login screen on the next click; HR adds
 * departments and groups and edits a user; the CPO brings a grant's end forward. Also the
 * headers and the SPA fallback of the server, and the API docs page under its own CSP.
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
  server = await startServer({ contacts: 100 });
  browser = await launchBrowser();
  signInAs = signInner(server.passwords);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the CPO designates handlers (never personal fields for a dispatch worker, and the form says why) and creates a dataset', { timeout: 180_000 }, async () => {
  const { context, page, log } = await openPage(browser, server.url);
  await signInAs(page, 'cpo');
  await page.getByRole('link', { name: '取扱者登録' }).click();
  const grants = page.getByTestId('grants-table');
  await grants.waitFor();
  assert.match((await grants.textContent()) ?? '', /渡辺 さくら \(haken\)/);
  assert.match((await grants.textContent()) ?? '', /伊藤 大輔 \(handler\)/);
  await screenshot(page, '12-grants');

  await page.getByRole('button', { name: '取扱者を登録' }).click();
  const fields = page.getByTestId('grant-fields');
  await fields.waitFor();
  // An employee first: every field can be picked.
  await page.getByRole('textbox', { name: '利用者' }).fill('handler');
  await page.getByRole('option', { name: /伊藤 大輔 \(handler\)/ }).click();
  assert.equal(await fields.getByRole('checkbox', { name: '氏名', exact: true }).isEnabled(), true);
  await fields.getByRole('checkbox', { name: '氏名', exact: true }).check();

  // A dispatch worker: personal-level fields are unchecked, disabled and explained.
  await page.getByRole('textbox', { name: '利用者' }).fill('haken');
  await page.getByRole('option', { name: /渡辺 さくら \(haken\)/ }).click();
  await page.getByTestId('dispatch-warning').waitFor();
  assert.match((await page.getByTestId('dispatch-warning').textContent()) ?? '', /派遣社員には個人情報を付与できません/);
  const personalFields = { person_name: '氏名', person_name_kana: '氏名カナ', email: 'メールアドレス', direct_phone: '直通電話', mobile_phone: '携帯電話' };
  for (const [name, label] of Object.entries(personalFields)) {
    const row = fields.locator(`tr[data-field="${name}"]`);
    const box = row.getByRole('checkbox', { name: label, exact: true });
    assert.equal(await box.isDisabled(), true, `${label} disabled`);
    assert.equal(await box.isChecked(), false, `${label} unchecked`);
    await row.getByText('派遣社員には付与できません').waitFor();
  }
  assert.equal(await fields.getByRole('checkbox', { name: '会社名', exact: true }).isEnabled(), true);
  await screenshot(page, '13-grant-dispatch-worker');

  // A company-fields grant for the dispatch worker goes through.
  await page.getByRole('button', { name: '企業情報のみ選択' }).click();
  await page.getByRole('checkbox', { name: 'データ整備' }).check();
  await page.getByLabel(/^登録の理由/).fill('データ整備の補助（企業情報のみ）');
  await page.getByRole('button', { name: '登録する' }).click();
  await fields.waitFor({ state: 'detached' });
  const newGrant = page.locator('[data-testid="grants-table"] tr', { hasText: 'データ整備の補助（企業情報のみ）' });
  await newGrant.waitFor();
  assert.match((await newGrant.textContent()) ?? '', /有効/);

  // Revoking asks for a reason; the grant then leaves the list of live grants.
  await newGrant.getByRole('button', { name: '取り消す' }).click();
  const revoke = page.getByRole('dialog');
  await revoke.getByLabel(/^理由/).fill('補助作業の終了');
  await revoke.getByRole('button', { name: '取り消す' }).click();
  await newGrant.waitFor({ state: 'detached' });
  await page.locator('label', { hasText: /^期限切れ・取り消し済みも表示$/ }).click();
  assert.match((await newGrant.textContent()) ?? '', /取り消し済/);

  // A new dataset with its field classifications; personal fields cannot be searched by prefix.
  await page.getByRole('link', { name: 'データセット' }).click();
  await page.getByRole('button', { name: 'データセットを作成' }).click();
  const form = page.getByRole('dialog');
  await form.getByLabel(/^識別名/).fill('suppliers');
  await form.getByLabel(/^表示名（日本語）/).first().fill('取引先担当者');
  await form.getByLabel(/^表示名（英語）/).first().fill('Supplier contacts');
  await form.getByRole('textbox', { name: 'データオーナー' }).fill('owner');
  await page.getByRole('option', { name: /田中 美咲 \(owner\)/ }).click();
  await form.getByLabel(/^利用目的/).fill('購買');
  await page.keyboard.press('Enter');
  await form.getByLabel('項目名 1').fill('supplier_name');
  await form.getByLabel('表示名（日本語） 1').fill('取引先名');
  await form.getByLabel('表示名（英語） 1').fill('Supplier');
  await form.getByRole('button', { name: '項目を追加' }).click();
  await form.getByLabel('項目名 2').fill('contact_name');
  await form.getByLabel('表示名（日本語） 2').fill('担当者名');
  await form.getByLabel('表示名（英語） 2').fill('Contact');
  await form.getByRole('textbox', { name: '分類 2' }).click();
  await page.getByRole('option', { name: '個人情報', exact: true }).click();
  await form.getByRole('textbox', { name: '検索 2' }).click();
  assert.equal(await page.getByRole('option', { name: '前方一致' }).getAttribute('data-combobox-disabled'), 'true', 'no prefix search on a personal field');
  await page.getByRole('option', { name: '完全一致' }).click();
  await form.getByRole('button', { name: '作成する' }).click();
  await form.waitFor({ state: 'detached' });
  const created = page.getByTestId('dataset-fields');
  await created.locator('tr[data-field="contact_name"]').getByText('個人情報').waitFor();
  assert.match((await created.locator('tr[data-field="contact_name"]').textContent()) ?? '', /完全一致.*暗号化・マスク/);
  await screenshot(page, '14-dataset-created');

  assert.deepEqual(unexpectedErrors(log), []);
  await context.close();
});

test('a user retired by HR is sent to the login screen, with the reason, on their next click', { timeout: 180_000 }, async () => {
  const itaku = await openPage(browser, server.url);
  await signInAs(itaku.page, 'itaku');
  await itaku.page.getByTestId('no-grant').waitFor(); // no handler grant: the records screen says whom to ask

  const hr = await openPage(browser, server.url);
  await signInAs(hr.page, 'hr');
  await hr.page.getByRole('link', { name: '利用者管理' }).click();
  await hr.page.getByTestId('users-table').waitFor();
  await screenshot(hr.page, '15-users');

  // Creating a user shows the one-time password once.
  await hr.page.getByRole('button', { name: '利用者を追加' }).click();
  const create = hr.page.getByRole('dialog');
  await create.getByRole('textbox', { name: 'ログインID', exact: true }).fill('haken2');
  await create.getByRole('textbox', { name: '氏名', exact: true }).fill('派遣 次郎');
  await create.getByRole('textbox', { name: '雇用区分', exact: true }).click();
  await hr.page.getByRole('option', { name: '派遣社員' }).click();
  await create.getByText('派遣社員には個人情報を含む取扱者登録ができません（企業情報のみ）。').waitFor();
  await create.getByRole('textbox', { name: '部署', exact: true }).click();
  await hr.page.getByRole('option', { name: '営業部' }).click();
  await create.getByRole('textbox', { name: '上長', exact: true }).fill('owner');
  await hr.page.getByRole('option', { name: /田中 美咲 \(owner\)/ }).click();
  await create.getByRole('button', { name: '追加する' }).click();
  const otp = (await hr.page.getByTestId('otp-value').textContent()) ?? '';
  assert.ok(otp.length >= 12, 'a one-time password is shown');
  await screenshot(hr.page, '16-user-created');
  await hr.page.getByRole('button', { name: '伝達したので閉じる' }).click();
  const newRow = hr.page.locator('tr[data-login="haken2"]');
  await newRow.waitFor();
  assert.match((await newRow.textContent()) ?? '', /派遣 次郎.*派遣社員.*営業部.*田中 美咲/);
  assert.equal(await hr.page.getByText(otp).count(), 0, 'the one-time password is gone once the dialog closes');
  await hr.page.getByRole('button', { name: 'itaku を退職にする' }).click();
  const dialog = hr.page.getByRole('dialog');
  await dialog.getByText('退職にすると、次のものが直ちに失効します').waitFor();
  const text = (await dialog.textContent()) ?? '';
  for (const revoked of ['すべてのセッション', 'すべての API トークン', '取扱者登録']) assert.ok(text.includes(revoked), `the dialog names ${revoked}`);
  const confirm = dialog.getByRole('button', { name: '退職にする' });
  assert.equal(await confirm.isDisabled(), true, 'a reason is required');
  await dialog.getByLabel(/^理由/).fill('契約満了');
  await screenshot(hr.page, '17-retire-confirmation');
  await confirm.click();
  await dialog.waitFor({ state: 'detached' });
  await hr.page.locator('label', { hasText: /^退職者を含む$/ }).click();
  await hr.page.locator('tr[data-login="itaku"]').getByText('退職').waitFor();

  // The joiners / movers / leavers timeline shows the retirement, with the console as its cause.
  await hr.page.getByRole('link', { name: '入社・異動・退職' }).click();
  const timeline = hr.page.getByTestId('lifecycle-timeline');
  const leaver = timeline.locator('tr[data-kind="leaver"]', { hasText: '(itaku)' });
  await leaver.first().waitFor();
  assert.match((await leaver.first().textContent()) ?? '', /管理画面で退職/);
  await screenshot(hr.page, '18b-lifecycle-timeline');
  // Only joiners: the new user haken2 is there, the leaver is not.
  await hr.page.locator('label', { hasText: /^入社$/ }).click();
  await timeline.locator('tr[data-kind="joiner"]', { hasText: '(haken2)' }).waitFor();
  await timeline.locator('tr[data-kind="leaver"]').first().waitFor({ state: 'detached' });
  assert.equal(await timeline.locator('tr:not([data-kind="joiner"])').filter({ has: hr.page.locator('td') }).count(), 0);

  // The retired user's next click: back to the login screen, told why.
  await itaku.page.getByRole('link', { name: 'データセット' }).click();
  await itaku.page.getByTestId('session-ended').waitFor();
  assert.match((await itaku.page.getByTestId('session-ended').textContent()) ?? '', /セッションが終了しました/);
  await itaku.page.getByRole('heading', { name: 'ログイン' }).waitFor();
  await screenshot(itaku.page, '18-session-ended');

  assert.deepEqual(unexpectedErrors(hr.log), []);
  assert.deepEqual(unexpectedErrors(itaku.log, [/status of 401 \(Unauthorized\)/]), []);
  await hr.context.close();
  await itaku.context.close();
});

test('HR adds a department and a group, then edits a user (a change to dispatch worker warns first); the list shows the new values after a reload', { timeout: 180_000 }, async () => {
  const { context, page, log } = await openPage(browser, server.url);
  await signInAs(page, 'hr');

  // Departments and groups: what the user form picks from.
  await page.getByRole('link', { name: '部署・グループ' }).click();
  const departments = page.getByTestId('departments-table');
  await departments.waitFor();
  assert.match((await departments.textContent()) ?? '', /営業部/);
  await page.getByLabel(/^部署名/).fill('法務部');
  await page.getByRole('button', { name: '部署を追加' }).click();
  await departments.getByText('法務部', { exact: true }).waitFor();
  await page.getByLabel(/^グループ名/).fill('契約審査チーム');
  await page.getByRole('textbox', { name: 'メンバー' }).click();
  await page.getByRole('option', { name: /伊藤 大輔 \(handler\)/ }).click();
  await page.keyboard.press('Escape');
  await page.getByRole('button', { name: 'グループを追加' }).click();
  const group = page.locator('tr[data-group="契約審査チーム"]');
  await group.waitFor();
  assert.match((await group.textContent()) ?? '', /伊藤 大輔/);
  await screenshot(page, '19-departments-groups');

  // Edit komon: the new department is offered; a change to 派遣社員 warns and needs a confirmation.
  await page.getByRole('link', { name: '利用者管理' }).click();
  await page.getByTestId('users-table').waitFor();
  await page.getByRole('button', { name: 'komon を編集する' }).click();
  const edit = page.getByRole('dialog');
  assert.equal(await edit.getByRole('textbox', { name: '部署', exact: true }).inputValue(), '経営企画部');
  await edit.getByRole('textbox', { name: '雇用区分', exact: true }).click();
  await page.getByRole('option', { name: '派遣社員' }).click();
  const warning = edit.getByTestId('dispatch-change-warning');
  await warning.waitFor();
  assert.match((await warning.textContent()) ?? '', /直接付与された取扱者登録はすべて停止/);
  const save = edit.getByRole('button', { name: '保存する' });
  assert.equal(await save.isDisabled(), true, 'saving a change to dispatch worker needs the confirmation');
  await edit.getByRole('checkbox', { name: '取扱者登録が停止されることを確認しました' }).check();
  assert.equal(await save.isEnabled(), true);
  await screenshot(page, '20-user-edit-dispatch-warning');
  await edit.getByRole('textbox', { name: '雇用区分', exact: true }).click();
  await page.getByRole('option', { name: '顧問' }).click();
  await warning.waitFor({ state: 'detached' });

  await edit.getByRole('textbox', { name: '部署', exact: true }).click();
  await page.getByRole('option', { name: '法務部' }).click();
  await edit.getByRole('textbox', { name: '役割', exact: true }).click();
  await page.getByRole('option', { name: '監査責任者' }).click();
  await page.keyboard.press('Escape');
  await edit.getByRole('textbox', { name: 'グループ', exact: true }).click();
  await page.getByRole('option', { name: '契約審査チーム' }).click();
  await page.keyboard.press('Escape');
  await save.click();
  await edit.waitFor({ state: 'detached' });

  await page.reload();
  const row = page.locator('tr[data-login="komon"]');
  await row.waitFor();
  assert.match((await row.textContent()) ?? '', /中村 誠.*顧問.*法務部.*監査責任者/);
  await page.getByRole('button', { name: 'komon を編集する' }).click();
  const again = page.getByRole('dialog');
  assert.equal(await again.getByRole('textbox', { name: '部署', exact: true }).inputValue(), '法務部');
  await again.getByText('契約審査チーム').waitFor();
  await again.getByRole('button', { name: 'キャンセル' }).click();

  assert.deepEqual(unexpectedErrors(log), []);
  await context.close();
});

test('the CPO brings a grant\'s end forward (the server refuses a later end, and the form shows why); the register shows the new end', { timeout: 180_000 }, async () => {
  const { context, page, log } = await openPage(browser, server.url);
  await signInAs(page, 'cpo');
  await page.getByRole('link', { name: '取扱者登録' }).click();
  const row = page.locator('[data-testid="grants-table"] tr', { hasText: 'デモ: 営業担当' });
  await row.waitFor();
  await row.getByRole('button', { name: '期限を早める' }).click();
  const dialog = page.getByRole('dialog');
  const until = dialog.getByLabel(/^新しい有効期限/);
  await dialog.getByLabel(/^理由/).fill('担当替えに伴う短縮');

  // Later than the current end: the server refuses and its words are shown.
  const later = new Date(Date.now() + 300 * 86_400_000 + 9 * 3_600_000).toISOString().slice(0, 10);
  await until.fill(`${later}T12:00`);
  await dialog.getByRole('button', { name: '有効期限を変更する' }).click();
  await dialog.getByRole('alert').getByText('取扱者登録の内容に誤りがあります').waitFor();
  assert.match((await dialog.getByTestId('server-message').textContent()) ?? '', /can only be shortened/);

  // Tomorrow 18:00 in Japan (the browser runs in London).
  const tomorrow = new Date(Date.now() + 33 * 3_600_000).toISOString().slice(0, 10);
  await until.fill(`${tomorrow}T18:00`);
  const [y, m, d] = tomorrow.split('-').map(Number);
  assert.equal(await dialog.getByTestId('expire-preview').textContent(), `新しい有効期限: ${y}年${m}月${d}日 18:00（日本時間）`);
  await screenshot(page, '21-grant-expire');
  await dialog.getByRole('button', { name: '有効期限を変更する' }).click();
  await dialog.waitFor({ state: 'detached' });
  await row.getByTestId('grant-period').getByText(`${y}年${m}月${d}日 18:00`, { exact: false }).waitFor();
  assert.match((await row.textContent()) ?? '', /有効/);

  assert.deepEqual(unexpectedErrors(log, [/status of 400 \(Bad Request\)/]), []);
  await context.close();
});

test('every response carries the security headers; the console routes fall back to index.html', async () => {
  const page = await fetch(`${server.url}/audit`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assert.equal(page.headers.get('cache-control'), 'no-store');
  const csp = page.headers.get('content-security-policy') ?? '';
  for (const directive of ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"]) assert.ok(csp.includes(directive), directive);
  assert.equal(page.headers.get('x-frame-options'), 'DENY');
  assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
  assert.ok(page.headers.get('permissions-policy'));
  const html = await page.text();
  assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/.test(html), 'no inline script in index.html');

  const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  assert.ok(asset);
  const js = await fetch(`${server.url}${asset}`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('cache-control') ?? '', /max-age=31536000, immutable/);

  const api = await fetch(`${server.url}/api/datasets`);
  assert.equal(api.status, 401);
  assert.match(api.headers.get('content-type') ?? '', /json/);
  assert.ok(api.headers.get('content-security-policy'));
  const missing = await fetch(`${server.url}/assets/missing.js`);
  assert.equal(missing.status, 404, 'a missing asset is not answered with index.html');
  const traversal = await fetch(`${server.url}/%2e%2e/%2e%2e/package.json`);
  assert.equal(traversal.status, 404);
});

test('the API docs page works under its own policy, without console errors', { timeout: 60_000 }, async () => {
  const { context, page, log } = await openPage(browser, server.url);
  const res = await page.goto('/docs');
  assert.equal(res?.status(), 200);
  await page.locator('.swagger-ui .information-container').waitFor();
  await page.getByText('Mamori API').first().waitFor();
  assert.deepEqual(log.errors, []);
  await context.close();
});
