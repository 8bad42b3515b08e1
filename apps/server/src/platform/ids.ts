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
// Random bytes are drawn from a pool: one randomFillSync per 256 ids instead of one per id (imports mint millions).
const POOL = Buffer.alloc(16 * 256);
let poolOffset = POOL.length;
function random16(): Buffer {
  if (poolOffset >= POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  const b = Buffer.from(POOL.subarray(poolOffset, poolOffset + 16));
  poolOffset += 16;
  return b;
}

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
  const b = random16();
  b.writeUIntBE(now, 0, 6);
  b[6] = 0x70 | (seq >> 8);
  b[7] = seq & 0xff;
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function newId<T extends string>(): Brand<string, T> {
  return uuidv7() as Brand<string, T>;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}
