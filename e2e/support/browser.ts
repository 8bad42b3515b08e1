/**
 * Debian's Chromium driven by playwright-core: headless, kept off the network (no background
 * services, no QUIC), a fresh profile per launch (Playwright makes one), never a downloaded browser.
 * Collects console errors and page errors per page so tests can assert there were none.
 */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './server.ts';

export const CHROMIUM = process.env.MAMORI_E2E_CHROMIUM || '/usr/bin/chromium';
export const SCREENSHOTS = path.join(ROOT, 'e2e', 'screenshots');

/** `extraArgs`: e.g. `--ignore-certificate-errors` for a test IdP whose throwaway CA the browser does not know. */
export async function launchBrowser(opts: { extraArgs?: string[] } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--lang=ja-JP', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', ...(opts.extraArgs ?? [])],
  });
}

export type ConsoleLog = { errors: string[] };

/** A new context (its own cookies: one person) and page, with console errors collected. */
export async function openPage(browser: Browser, baseURL: string, opts: { locale?: string } = {}): Promise<{ context: BrowserContext; page: Page; log: ConsoleLog }> {
  const context = await browser.newContext({ baseURL, locale: opts.locale ?? 'ja-JP', timezoneId: 'Europe/London', viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const log: ConsoleLog = { errors: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') log.errors.push(`${m.text()} @ ${m.location().url}`);
  });
  page.on('pageerror', (e) => log.errors.push(`pageerror: ${e.message}`));
  return { context, page, log };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: false });
}

/**
 * Console errors of a page. Pass `alsoExpected` for a page that is meant to meet a refusal
 * (Chromium logs every 4xx fetch as an error).
 */
export function unexpectedErrors(log: ConsoleLog, alsoExpected: RegExp[] = []): string[] {
  const expected = [...alsoExpected];
  return log.errors.filter((e) => !expected.some((re) => re.test(e)));
}
