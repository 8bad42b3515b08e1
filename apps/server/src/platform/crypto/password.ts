/**
 * Password hashing with argon2id at the OWASP Password Storage Cheat Sheet minimum
 * (m = 19 MiB, t = 2, p = 1). Parameters are encoded in the PHC string, so raising them later
 * still verifies old hashes.
 */
import { hash, verify } from '@node-rs/argon2';
import type { Options } from '@node-rs/argon2';

// Algorithm is an ambient const enum, which isolatedModules forbids referencing; 2 is Argon2id.
const ARGON2ID = 2 as NonNullable<Options['algorithm']>;

const OPTIONS: Options = { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 };

export const PASSWORD_MIN_CODE_POINTS = 12;
export const PASSWORD_MAX_CODE_POINTS = 256;

export function hashPassword(pw: string): Promise<string> {
  return hash(pw, OPTIONS);
}

/** False on mismatch and on a malformed stored hash: a login must fail closed, not 500. */
export async function verifyPassword(hashed: string, pw: string): Promise<boolean> {
  try {
    return await verify(hashed, pw);
  } catch {
    return false;
  }
}

/** Counted in code points so a Japanese passphrase is measured by what the user typed. */
export function validatePasswordStrength(pw: string): null | 'password.too_short' | 'password.too_long' {
  let n = 0;
  for (const _ of pw) n++;
  if (n < PASSWORD_MIN_CODE_POINTS) return 'password.too_short';
  if (n > PASSWORD_MAX_CODE_POINTS) return 'password.too_long';
  return null;
}
