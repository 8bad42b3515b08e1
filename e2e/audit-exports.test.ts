/**
 * SIEM export status in the console: the server streams the audit log to a JSON Lines file and tries
 * a syslog-over-TLS destination that refuses connections. The security center sees both: the file's
 * cursor (the last index it acknowledged, which the file really holds) and how far it lags, and the
 * syslog destination failing with its last error, nothing acknowledged. A handler has no such screen.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchBrowser, openPage, screenshot, unexpectedErrors } from './support/browser.ts';
import { firstSignIn } from './support/console.ts';
import { startServer, type RunningServer } from './support/server.ts';

let server: RunningServer;
let browser: Browser;
let dir = '';
let siemFile = '';

/** A local port nobody listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'mamori-e2e-siem-'));
  siemFile = path.join(dir, 'siem.jsonl');
  server = await startServer({ contacts: 20, env: { MAMORI_SIEM_JSONL_FILE: siemFile, MAMORI_SIEM_SYSLOG: `tls://127.0.0.1:${await closedPort()}` } });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the security center sees each SIEM destination: cursor, lag, last success, last error', { timeout: 240_000 }, async () => {
  const { context, page, log } = await openPage(browser, server.url);
  await firstSignIn(page, 'secops', server.passwords.get('secops')!);
  await page.getByRole('link', { name: 'SIEM連携の状況' }).click();
  await page.getByRole('heading', { name: 'SIEMへのエクスポート' }).waitFor();

  // The file destination catches up (the page refreshes itself).
  const file = page.locator('[data-testid="export-destinations"] tr[data-kind="file"]');
  await file.locator('text=ファイル (JSON Lines)').waitFor();
  await page.locator('[data-testid="export-destinations"] tr[data-kind="file"]:not([data-state="stale"]) [data-testid="export-cursor"]').waitFor({ timeout: 60_000 });
  const cursor = Number(((await file.getByTestId('export-cursor').textContent()) ?? '').replace(/[^\d]/g, ''));
  assert.ok(cursor > 0, 'events acknowledged');
  const lines = (await readFile(siemFile, 'utf8')).trim().split('\n');
  assert.ok(lines.length >= cursor + 1, `the file holds every acknowledged event (${lines.length} lines, cursor ${cursor})`);
  assert.equal((JSON.parse(lines[cursor]!) as { seq: number }).seq, cursor);
  assert.match((await file.textContent()) ?? '', /siem\.jsonl/);

  // The syslog destination refuses connections: failing, its error shown, nothing acknowledged.
  const syslog = page.locator('[data-testid="export-destinations"] tr[data-kind="syslog"][data-state="failing"]');
  await syslog.waitFor({ timeout: 60_000 });
  assert.match((await syslog.getByTestId('export-last-error').textContent()) ?? '', /ECONNREFUSED/);
  assert.match((await syslog.getByTestId('export-cursor').textContent()) ?? '', /まだありません/);
  assert.ok(Number(((await syslog.getByTestId('export-lag').textContent()) ?? '').replace(/[^\d]/g, '')) > 0);
  assert.ok(await page.getByText('送信に失敗している送信先があります').isVisible());
  await screenshot(page, '22-siem-export-status');

  // English too.
  await page.locator('label', { hasText: /^English$/ }).click();
  await page.getByRole('heading', { name: 'Export to the SIEM' }).waitFor();
  assert.match((await page.getByTestId('export-destinations').textContent()) ?? '', /Failing/);
  assert.deepEqual(unexpectedErrors(log), []);
  await context.close();

  // A handler has no such screen.
  const h = await openPage(browser, server.url);
  await firstSignIn(h.page, 'handler', server.passwords.get('handler')!);
  await h.page.getByRole('link', { name: '記録検索' }).waitFor();
  assert.equal(await h.page.getByRole('link', { name: 'SIEM連携の状況' }).count(), 0);
  await h.context.close();
});
