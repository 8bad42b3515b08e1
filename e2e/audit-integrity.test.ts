/**
 * The log's integrity in the console: an auditor sees the latest signed checkpoint, the log key and
 * the witness that agrees; runs a verification and sees its progress end in "intact", recorded as the
 * last verification; downloads the proof bundle of an event from its detail, and the bundle verifies
 * offline with `mamori audit verify-proof` against the key the console shows.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { launchBrowser, openPage, screenshot, unexpectedErrors } from './support/browser.ts';
import { firstSignIn } from './support/console.ts';
import { ROOT, startServer, type RunningServer } from './support/server.ts';

const run = promisify(execFile);
let server: RunningServer;
let browser: Browser;
let downloads = '';

before(async () => {
  server = await startServer({ contacts: 50 });
  browser = await launchBrowser();
  downloads = await mkdtemp(path.join(tmpdir(), 'mamori-e2e-dl-'));
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (downloads) await rm(downloads, { recursive: true, force: true });
});

test('an auditor sees the log integrity, verifies the log, and downloads a proof bundle that verifies offline', { timeout: 240_000 }, async () => {
  const { context, page, log } = await openPage(browser, server.url);
  await firstSignIn(page, 'auditor', server.passwords.get('auditor')!);
  await page.getByRole('link', { name: 'ログの完全性' }).click();
  await page.getByRole('heading', { name: '最新のチェックポイント' }).waitFor();
  const size = Number(((await page.getByTestId('checkpoint-size').textContent()) ?? '').replace(/,/g, ''));
  assert.ok(size > 0, 'a signed checkpoint');
  assert.match((await page.getByTestId('checkpoint-note').textContent()) ?? '', new RegExp(`^mamori\\.local/audit\\n${size}\\n`));
  const vkey = ((await page.getByTestId('verifier-key').textContent()) ?? '').trim();
  assert.match(vkey, /^mamori\.local\/audit\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$/);
  await page.locator('[data-testid="witnesses"] tr[data-state="agrees"]').waitFor();
  assert.match((await page.getByTestId('witnesses').textContent()) ?? '', /一致/);
  assert.ok(await page.getByText('ログはまだ検証されていません。').isVisible());

  await page.getByRole('button', { name: '今すぐ検証' }).click();
  const result = page.locator('[data-testid="last-verification"][data-status="ok"]');
  await result.waitFor();
  const text = (await result.textContent()) ?? '';
  assert.match(text, /正常（改ざんなし）/);
  assert.match(text, /auditor \(コンソール\)/);
  await screenshot(page, '20-audit-integrity');

  // Proof download from an event's detail: the oldest event shown is long covered by a checkpoint.
  await page.getByRole('link', { name: '監査ログ' }).click();
  const rows = page.locator('[data-testid="audit-events"] tbody tr');
  await rows.first().waitFor();
  await rows.last().click();
  await page.getByTestId('event-detail').waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: '証明をダウンロード' }).click()]);
  assert.match(download.suggestedFilename(), /^mamori-audit-proof-\d+\.json$/);
  const file = path.join(downloads, download.suggestedFilename());
  await download.saveAs(file);
  const bundle = JSON.parse(await readFile(file, 'utf8')) as { format: string; logKey: { verifierKey: string } };
  assert.equal(bundle.format, 'mamori-audit-proof/v1');
  assert.equal(bundle.logKey.verifierKey, vkey);
  await screenshot(page, '21-audit-proof-download');

  const env = { ...process.env, DATABASE_URL: '' };
  const { stdout } = await run(process.execPath, [path.join(ROOT, 'apps/server/bin/mamori.mjs'), 'audit', 'verify-proof', file, '--key', vkey], { env, cwd: downloads });
  assert.match(stdout, /^OK: event \d+ is in the log of \d+ events signed by the given key$/m);

  assert.deepEqual(unexpectedErrors(log), []);
  await context.close();
});
