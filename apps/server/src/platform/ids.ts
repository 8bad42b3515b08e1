/**
 * Ids are UUIDv7 (time-ordered, so B-tree inserts stay local) and branded per entity so that
 * a RecordId cannot be passed where a UserId is expected.
 */
import { randomFillSync } from 'node:crypto';

declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type UserId = Brand<string, 'UserId'>;
export type SessionId = Brand<string, 'SessionId'>;
export type DatasetId = Brand<string, 'DatasetId'>;
export type RecordId = Brand<string, 'RecordId'>;
export type GrantId = Brand<string, 'GrantId'>;
export type GroupId = Brand<string, 'GroupId'>;
export type DepartmentId = Brand<string, 'DepartmentId'>;
export type TokenId = Brand<string, 'TokenId'>;

let lastMs = 0;
let seq = 0;
// Random bytes are drawn from a pool: one randomFillSync per 256 ids instead of one per id (imports
// mint millions); each slice is used once. The string is built from a byte-to-hex table, which is
// several times cheaper than a Buffer copy, toString('hex') and slicing.
const POOL = Buffer.alloc(16 * 256);
let poolOffset = POOL.length;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** RFC 9562 UUIDv7 with a 12-bit monotonic counter in rand_a for ids minted in the same millisecond. */
export function uuidv7(now: number = Date.now()): string {
  if (now <= lastMs) {
    seq = (seq + 1) & 0xfff;
    if (seq === 0) lastMs += 1;
    now = lastMs;
  } else {
    lastMs = now;
    seq = 0;
  }
  if (poolOffset >= POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  const r = poolOffset;
  poolOffset += 16;
  // 48-bit big-endian milliseconds: the high 16 bits, then the low 32.
  const hi = Math.floor(now / 2 ** 32);
  const lo = now >>> 0;
  const h = (b: number) => HEX[b & 0xff]!;
  return (
    h(hi >>> 8) + h(hi) + h(lo >>> 24) + h(lo >>> 16) + '-' + h(lo >>> 8) + h(lo) + '-' +
    h(0x70 | (seq >> 8)) + h(seq) + '-' + h(0x80 | (POOL[r + 8]! & 0x3f)) + h(POOL[r + 9]!) + '-' +
    h(POOL[r + 10]!) + h(POOL[r + 11]!) + h(POOL[r + 12]!) + h(POOL[r + 13]!) + h(POOL[r + 14]!) + h(POOL[r + 15]!)
  );
}

export function newId<T extends string>(): Brand<string, T> {
  return uuidv7() as Brand<string, T>;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}
