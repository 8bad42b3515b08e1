/** The console's sign-in steps as a person does them: password, forced change, TOTP enrolment or code. */
import type { Page } from 'playwright-core';
import * as OTPAuth from 'otpauth';

export const NEW_PASSWORD = 'correct horse battery staple 守り';

export function totpCode(secret: string, at: number = Date.now()): string {
  return new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate({ timestamp: at });
}

/** A code that stays valid long enough to be typed and submitted (not in the last seconds of its step). */
export async function freshCode(secret: string): Promise<string> {
  const left = 30_000 - (Date.now() % 30_000);
  if (left < 4_000) await new Promise((r) => setTimeout(r, left + 200));
  return totpCode(secret);
}

export async function signIn(page: Page, login: string, password: string): Promise<void> {
  await page.getByLabel(/^ログインID/).fill(login);
  await page.getByLabel(/^パスワード/).fill(password);
  await page.getByRole('button', { name: 'ログイン' }).click();
}

/**
 * First sign-in of a seeded user: one-time password → new password → TOTP enrolment (reads the
 * secret shown on the screen, computes the code) → the console. Returns the TOTP secret.
 */
export async function firstSignIn(page: Page, login: string, oneTimePassword: string, opts: { screenshots?: (name: string) => Promise<void> } = {}): Promise<string> {
  await page.goto('/');
  await signIn(page, login, oneTimePassword);
  await page.getByRole('heading', { name: '初期パスワードの変更' }).waitFor();
  await opts.screenshots?.('02-password-change');
  await page.getByLabel(/^現在のパスワード/).fill(oneTimePassword);
  await page.getByLabel(/^新しいパスワード(?!（)/).fill(NEW_PASSWORD);
  await page.getByLabel(/^新しいパスワード（確認）/).fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'パスワードを変更' }).click();
  await page.getByRole('heading', { name: '認証アプリの登録' }).waitFor();
  await page.getByRole('button', { name: '登録を開始' }).click();
  const secretEl = page.getByTestId('totp-secret');
  await secretEl.waitFor();
  await page.getByRole('img', { name: '認証アプリ登録用の QR コード' }).waitFor();
  await opts.screenshots?.('03-totp-enrolment');
  const secret = (await secretEl.textContent())!.replace(/\s+/g, '');
  await page.getByLabel(/^確認コード/).fill(await freshCode(secret));
  await page.getByRole('button', { name: '登録して確認' }).click();
  await page.getByTestId('current-user').waitFor();
  return secret;
}

const STEP_MS = 30_000;

/**
 * A later sign-in of a user who has done `firstSignIn`: the new password, then a TOTP code. Codes
 * are single-use (the server remembers the last step), so this waits for a step after `afterStep`.
 * Returns the step of the code it used.
 */
export async function signInAgain(page: Page, login: string, secret: string, afterStep: number): Promise<number> {
  await page.goto('/');
  await signIn(page, login, NEW_PASSWORD);
  await page.getByLabel(/^確認コード/).waitFor();
  const wait = (afterStep + 1) * STEP_MS - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait + 200));
  const code = await freshCode(secret);
  const step = Math.floor(Date.now() / STEP_MS);
  await page.getByLabel(/^確認コード/).fill(code);
  await page.getByRole('button', { name: '確認', exact: true }).click();
  await page.getByTestId('current-user').waitFor();
  return step;
}

/** Signs a seeded user in: the first time through `firstSignIn`, later with their password and a fresh code. */
export function signInner(passwords: Map<string, string>): (page: Page, login: string) => Promise<void> {
  const known = new Map<string, { secret: string; step: number }>();
  return async (page, login) => {
    const k = known.get(login);
    if (!k) {
      const secret = await firstSignIn(page, login, passwords.get(login)!);
      known.set(login, { secret, step: Math.floor(Date.now() / STEP_MS) });
    } else {
      known.set(login, { secret: k.secret, step: await signInAgain(page, login, k.secret, k.step) });
    }
  };
}
