/**
 * Blind indexes: a keyed hash of a normalized value stored next to the ciphertext so exact-match
 * search works without decrypting. Each field gets its own derived key, so equal values in
 * different fields (a phone stored as both "phone" and "fax") produce unrelated tokens and cannot
 * be joined across fields by someone holding only the database.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import { HmacSha256 } from './hmac-sha256.ts';

const INFO_PREFIX = 'mamori/blind-index/v1/';
const FIELD_KEY_BYTES = 32;
const TOKEN_BYTES = 16;

export function deriveFieldKey(indexKey: Buffer, fieldName: string): Buffer {
  if (indexKey.length < 32) throw new Error('crypto.bad_key: index key must be at least 32 bytes');
  if (fieldName.length === 0) throw new Error('crypto.bad_field_name: empty');
  return Buffer.from(hkdfSync('sha256', indexKey, Buffer.alloc(0), INFO_PREFIX + fieldName, FIELD_KEY_BYTES));
}

/**
 * HMAC-SHA256 truncated to 128 bits: enough to make accidental collisions negligible for any
 * realistic dataset while halving index size. The caller normalizes first (vault.normalize.ts).
 */
export function blindIndex(fieldKey: Buffer, normalized: string): Buffer {
  return createHmac('sha256', fieldKey).update(normalized, 'utf8').digest().subarray(0, TOKEN_BYTES);
}

/**
 * The same tokens as blindIndex for one field key, computed without node:crypto's per-call set-up
 * (see hmac-sha256.ts): for bulk paths that index millions of values under a few keys.
 */
export class BlindIndexer {
  private readonly hmac: HmacSha256;
  constructor(fieldKey: Buffer) {
    this.hmac = new HmacSha256(fieldKey);
  }
  token(normalized: string): Buffer {
    return this.hmac.digest(normalized, TOKEN_BYTES);
  }
}
