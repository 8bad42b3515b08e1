/**
 * TOTP (RFC 6238: SHA-1, 6 digits, 30 s) for MFA. verifyTotp returns the matched time step so the
 * caller can store it and refuse the same code again (a code is otherwise valid for up to 90 s).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';

const PERIOD = 30;
const DIGITS = 6;
const ALGORITHM = 'SHA1';
const WINDOW = 1;

function parseSecret(secretB32: string): Secret {
  try {
    return Secret.fromBase32(secretB32);
  } catch {
    throw new Error('crypto.bad_totp_secret');
  }
}

function codeAt(secret: Secret, step: number): string {
  return TOTP.generate({ secret, algorithm: ALGORITHM, digits: DIGITS, period: PERIOD, timestamp: step * PERIOD * 1000 });
}

/** 160-bit secret, the RFC 4226 recommended length for HMAC-SHA1. */
export function generateTotpSecret(): string {
  const bytes = randomBytes(20);
  return new Secret({ buffer: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) }).base32;
}

export function totpUri(secretB32: string, accountLabel: string, issuer = 'Mamori'): string {
  return new TOTP({
    issuer,
    label: accountLabel,
    secret: parseSecret(secretB32),
    algorithm: ALGORITHM,
    digits: DIGITS,
    period: PERIOD,
  }).toString();
}

export function currentTotp(secretB32: string, at: Date): string {
  return codeAt(parseSecret(secretB32), Math.floor(at.getTime() / 1000 / PERIOD));
}

/**
 * Accepts the current step and one either side (clock drift), but never a step at or before
 * lastUsedStep, which blocks replaying a code that was already used. Full-width digits typed on a
 * Japanese IME are accepted through NFKC.
 */
export function verifyTotp(
  secretB32: string,
  code: string,
  at: Date,
  lastUsedStep: number | null,
): { ok: true; step: number } | { ok: false } {
  const token = code.normalize('NFKC');
  if (!/^[0-9]{6}$/.test(token)) return { ok: false };
  const secret = parseSecret(secretB32);
  const current = Math.floor(at.getTime() / 1000 / PERIOD);
  const given = Buffer.from(token, 'ascii');
  let matched: number | null = null;
  // Check every candidate step (no early exit) so timing does not reveal which step matched.
  for (let step = current - WINDOW; step <= current + WINDOW; step++) {
    if (lastUsedStep !== null && step <= lastUsedStep) continue;
    const ok = timingSafeEqual(given, Buffer.from(codeAt(secret, step), 'ascii'));
    if (ok && matched === null) matched = step;
  }
  return matched === null ? { ok: false } : { ok: true, step: matched };
}
