import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { sha256 } from '@noble/hashes/sha2.js';
import { BlindIndexer, blindIndex, deriveFieldKey } from './blind-index.ts';

const INDEX_KEY = Buffer.alloc(32, 7);
// Computed once from the v1 definition (HKDF-SHA256 info 'mamori/blind-index/v1/phone', HMAC-SHA256/128).
const PINNED_FIELD_KEY = '39ac183e23d1b609fd9c1a304f9da08d98ae6ca511e0f68b675c637a390ad4f1';
const PINNED_TOKEN = 'e9e26be76b78899923dc82768f416721';

void test('same field and value give the same 16-byte token', () => {
  const k = deriveFieldKey(INDEX_KEY, 'phone');
  const t = blindIndex(k, '0312345678');
  assert.equal(t.length, 16);
  assert.deepEqual(blindIndex(deriveFieldKey(INDEX_KEY, 'phone'), '0312345678'), t);
});

void test('equal values in different fields give different tokens', () => {
  const phone = blindIndex(deriveFieldKey(INDEX_KEY, 'phone'), '0312345678');
  const fax = blindIndex(deriveFieldKey(INDEX_KEY, 'fax'), '0312345678');
  assert.notDeepEqual(phone, fax);
});

void test('different index keys give different tokens', () => {
  const a = blindIndex(deriveFieldKey(INDEX_KEY, 'name'), '山田太郎');
  const b = blindIndex(deriveFieldKey(randomBytes(32), 'name'), '山田太郎');
  assert.notDeepEqual(a, b);
});

void test('distinct values give distinct tokens (property)', () => {
  const k = deriveFieldKey(INDEX_KEY, 'email');
  fc.assert(
    fc.property(fc.string(), fc.string(), (a, b) => {
      fc.pre(a !== b);
      assert.notDeepEqual(blindIndex(k, a), blindIndex(k, b));
    }),
  );
});

void test('derivation is pinned: stored indexes stay searchable across releases', () => {
  // If the HKDF info string, hash or truncation changes, every stored index silently stops
  // matching. These vectors were computed once from the v1 definition.
  assert.equal(deriveFieldKey(INDEX_KEY, 'phone').toString('hex'), PINNED_FIELD_KEY);
  assert.equal(blindIndex(deriveFieldKey(INDEX_KEY, 'phone'), '0312345678').toString('hex'), PINNED_TOKEN);
});

void test('rejects short index keys and empty field names', () => {
  assert.throws(() => deriveFieldKey(Buffer.alloc(16), 'phone'), { message: /^crypto\.bad_key/ });
  assert.throws(() => deriveFieldKey(INDEX_KEY, ''), { message: /^crypto\.bad_field_name/ });
});

void test('BlindIndexer gives exactly the tokens of blindIndex (any key, any string, every block boundary)', () => {
  const k = deriveFieldKey(INDEX_KEY, 'phone');
  assert.equal(new BlindIndexer(k).token('0312345678').toString('hex'), PINNED_TOKEN);
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 64 }), fc.string({ unit: 'binary', maxLength: 100 }), (key, s) => {
      const fk = Buffer.from(key);
      assert.deepEqual(new BlindIndexer(fk).token(s), blindIndex(fk, s));
    }),
    { numRuns: 100 },
  );
  // UTF-8 lengths around the 55/56- and 119/120-byte padding boundaries, ASCII and 3-byte characters.
  const indexer = new BlindIndexer(k);
  for (let n = 0; n < 200; n++) {
    for (const s of ['a'.repeat(n), 'あ'.repeat(Math.floor(n / 3)) + 'b'.repeat(n % 3), '\ud800'.repeat(n % 7)]) assert.deepEqual(indexer.token(s), blindIndex(k, s), `length ${n}`);
  }
});

void test('an indexer refuses to exist when its HMAC does not match node:crypto (known answer checked when made)', () => {
  // Stands for a change in @noble/hashes' internals, which the one-block path relies on.
  const proto = Object.getPrototypeOf(sha256.create()) as { process(view: DataView, offset: number): void };
  const process = proto.process;
  proto.process = function (this: unknown, view: DataView, offset: number) {
    process.call(this, view, offset);
    (this as { A: number }).A ^= 1;
  };
  try {
    assert.throws(() => new BlindIndexer(deriveFieldKey(INDEX_KEY, 'phone')), { message: /^crypto\.blind_index_self_test/ });
  } finally {
    proto.process = process;
  }
  assert.equal(new BlindIndexer(deriveFieldKey(INDEX_KEY, 'phone')).token('0312345678').toString('hex'), PINNED_TOKEN);
});

void test('nothing derived from a value stays in the indexer after its token (block, inner digest, state)', () => {
  const indexer = new BlindIndexer(deriveFieldKey(INDEX_KEY, 'email'));
  const inside = indexer as unknown as { block: Uint8Array; outerView: DataView; sha: { get(): number[] } };
  for (const s of ['taro.yamada@example.jp', 'あ'.repeat(19) /* 57 bytes: the general path */]) {
    indexer.token(s);
    assert.ok(inside.block.every((b) => b === 0), `block zeroed after ${s.length} characters`);
    assert.ok(new Uint8Array(inside.outerView.buffer, 0, 32).every((b) => b === 0), 'inner digest zeroed');
    assert.deepEqual(inside.sha.get(), [0, 0, 0, 0, 0, 0, 0, 0]);
  }
});
