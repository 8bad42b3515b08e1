/**
 * Opaque bearer tokens (sessions, API tokens, invitation links). Only the SHA-256 of a token is
 * stored, so a database leak does not yield usable tokens; 256 random bits make a slow hash
 * unnecessary.
 */
import * as nodeCrypto from 'node:crypto';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

// Tokens travel in headers, cookies and URLs: keep the prefix URL-safe and unambiguous.
const PREFIX_RE = /^[A-Za-z0-9]{1,32}$/;

export function newOpaqueToken(prefix: string): string {
  if (!PREFIX_RE.test(prefix)) throw new Error('crypto.bad_token_prefix');
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

// One-shot `crypto.hash` (Node ≥ 20.12) costs a quarter of createHash().update().digest(): every
// request with a session or token hashes it once. Older Node 20 releases fall back.
const oneShotHash = (nodeCrypto as { hash?: typeof nodeCrypto.hash }).hash;

export function hashToken(token: string): Buffer {
  return oneShotHash ? oneShotHash('sha256', token, 'buffer') : createHash('sha256').update(token, 'utf8').digest();
}

/** Timing-safe comparison; differing lengths return false (length is not secret for hashes). */
export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
