/**
 * AES-256-GCM envelope encryption: each record gets its own random data key, which is stored
 * wrapped (sealed) under the active master key. Sealed format:
 *
 *   0x01 (version) | 12-byte random IV | ciphertext | 16-byte tag
 *
 * seal/open run once per record on hot paths (imports, extraction), so they do exactly one
 * AES-GCM operation and no key derivation.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomFillSync } from 'node:crypto';
import type { MasterKeyring } from './keyring.ts';

const VERSION = 0x01;
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + IV_BYTES;
// Domain separation: a wrapped data key can never be confused with (or opened as) a record
// sealed under the same key with the same caller-supplied aad.
const WRAP_AAD_PREFIX = 'mamori/wrap/v1:';

export function generateDataKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

function checkKey(key: Buffer): void {
  if (key.length !== KEY_BYTES) throw new Error(`crypto.bad_key: expected ${KEY_BYTES} bytes`);
}

// IVs are cut from a pool of CSPRNG output filled 256 IVs at a time: one randomFillSync call instead
// of one per seal (each call costs microseconds, which counts at import rates). Every 12-byte slice
// is handed out once and the pool is a fresh buffer each time, so IVs stay random and never repeat
// from reuse; a used slice is never written again.
const IV_POOL_BYTES = 256 * IV_BYTES;
let ivPool = Buffer.alloc(0);
let ivOffset = 0;

function nextIv(): Buffer {
  if (ivOffset + IV_BYTES > ivPool.length) {
    ivPool = randomFillSync(Buffer.allocUnsafeSlow(IV_POOL_BYTES));
    ivOffset = 0;
  }
  const iv = ivPool.subarray(ivOffset, ivOffset + IV_BYTES);
  ivOffset += IV_BYTES;
  return iv;
}

export function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  checkKey(key);
  const iv = nextIv();
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const out = Buffer.allocUnsafe(HEADER_BYTES + plaintext.length + TAG_BYTES);
  out[0] = VERSION;
  iv.copy(out, 1);
  const body = cipher.update(plaintext);
  body.copy(out, HEADER_BYTES);
  cipher.final(); // GCM is a stream mode: final() only completes the tag and yields no bytes.
  cipher.getAuthTag().copy(out, HEADER_BYTES + body.length);
  return out;
}

export function open(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  checkKey(key);
  if (sealed.length < HEADER_BYTES + TAG_BYTES || sealed[0] !== VERSION) {
    throw new Error('crypto.bad_ciphertext');
  }
  try {
    const iv = sealed.subarray(1, HEADER_BYTES);
    const tag = sealed.subarray(sealed.length - TAG_BYTES);
    // authTagLength pins the tag size: without it Node accepts truncated tags.
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    const body = decipher.update(sealed.subarray(HEADER_BYTES, sealed.length - TAG_BYTES));
    decipher.final();
    return body;
  } catch {
    // One code for every failure: callers must not learn which part was wrong.
    throw new Error('crypto.bad_ciphertext');
  }
}

function wrapAad(aad: string): Buffer {
  return Buffer.from(WRAP_AAD_PREFIX + aad, 'utf8');
}

/** Wrap a data key under the keyring's active master key; aad binds it to its owner (e.g. a record id). */
export function wrapDataKey(
  keyring: MasterKeyring,
  dataKey: Buffer,
  aad: string,
): { masterKeyId: string; wrapped: Buffer } {
  checkKey(dataKey);
  const master = keyring.keys.get(keyring.activeId);
  if (!master) throw new Error('crypto.unknown_master_key: active key missing from keyring');
  return { masterKeyId: keyring.activeId, wrapped: seal(master, dataKey, wrapAad(aad)) };
}

export function unwrapDataKey(keyring: MasterKeyring, masterKeyId: string, wrapped: Buffer, aad: string): Buffer {
  const master = keyring.keys.get(masterKeyId);
  if (!master) throw new Error(`crypto.unknown_master_key: ${masterKeyId}`);
  const dataKey = open(master, wrapped, wrapAad(aad));
  if (dataKey.length !== KEY_BYTES) throw new Error('crypto.bad_ciphertext');
  return dataKey;
}
