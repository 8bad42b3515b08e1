import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { generateDataKey, open, seal, unwrapDataKey, wrapDataKey } from './envelope.ts';
import { createKeyringFile, keyringFromBase64, readKeyringFile, rotateKeyringFile } from './keyring.ts';

const AAD = Buffer.from('dataset:ds_1/record:rec_1');
const badCiphertext = { message: /^crypto\.bad_ciphertext/ };

void test('generateDataKey: 32 fresh random bytes', () => {
  const a = generateDataKey();
  assert.equal(a.length, 32);
  assert.notDeepEqual(a, generateDataKey());
});

void test('seal/open round-trip (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), fc.uint8Array({ maxLength: 64 }), (pt, aad) => {
      const key = generateDataKey();
      const sealed = seal(key, Buffer.from(pt), Buffer.from(aad));
      assert.deepEqual(open(key, sealed, Buffer.from(aad)), Buffer.from(pt));
    }),
    { numRuns: 200 },
  );
});

void test('sealed format: version 0x01 | 12-byte IV | ciphertext | 16-byte tag, decryptable by plain AES-256-GCM', () => {
  const key = generateDataKey();
  const pt = Buffer.from(JSON.stringify({ name: '山田 太郎', phone: '03-1234-5678' }));
  const sealed = seal(key, pt, AAD);
  assert.equal(sealed.length, 1 + 12 + pt.length + 16);
  assert.equal(sealed[0], 0x01);
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 13), { authTagLength: 16 });
  d.setAAD(AAD);
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  assert.deepEqual(Buffer.concat([d.update(sealed.subarray(13, sealed.length - 16)), d.final()]), pt);
  // Random IV: sealing the same plaintext twice gives different output.
  assert.notDeepEqual(seal(key, pt, AAD), sealed);
});

void test('tampering with any byte makes open fail', () => {
  const key = generateDataKey();
  const sealed = seal(key, Buffer.from('個人情報 personal data'), AAD);
  for (let i = 0; i < sealed.length; i++) {
    for (const flip of [0x01, 0x80]) {
      const t = Buffer.from(sealed);
      t[i] = (t[i] ?? 0) ^ flip;
      assert.throws(() => open(key, t, AAD), badCiphertext, `byte ${i} flip ${flip}`);
    }
  }
});

void test('truncated, extended, short or empty input fails with bad_ciphertext', () => {
  const key = generateDataKey();
  const sealed = seal(key, Buffer.from('hello'), AAD);
  assert.throws(() => open(key, sealed.subarray(0, sealed.length - 1), AAD), badCiphertext);
  assert.throws(() => open(key, Buffer.concat([sealed, Buffer.of(0)]), AAD), badCiphertext);
  assert.throws(() => open(key, Buffer.alloc(0), AAD), badCiphertext);
  assert.throws(() => open(key, sealed.subarray(0, 28), AAD), badCiphertext);
  // An empty plaintext is still valid (29 bytes).
  assert.deepEqual(open(key, seal(key, Buffer.alloc(0), AAD), AAD), Buffer.alloc(0));
});

void test('wrong aad or wrong key fails', () => {
  const key = generateDataKey();
  const sealed = seal(key, Buffer.from('secret'), AAD);
  assert.throws(() => open(key, sealed, Buffer.from('dataset:ds_1/record:rec_2')), badCiphertext);
  assert.throws(() => open(key, sealed, Buffer.alloc(0)), badCiphertext);
  assert.throws(() => open(generateDataKey(), sealed, AAD), badCiphertext);
});

void test('error messages never contain the plaintext', () => {
  const key = generateDataKey();
  const sealed = seal(key, Buffer.from('山田太郎'), AAD);
  try {
    open(key, sealed, Buffer.from('other'));
    assert.fail('expected throw');
  } catch (e) {
    assert.ok(!(e as Error).message.includes('山田太郎'));
  }
});

void test('seal refuses a key that is not 32 bytes', () => {
  assert.throws(() => seal(randomBytes(16), Buffer.from('x'), AAD), { message: /^crypto\.bad_key/ });
});

void test('wrap/unwrap data key under the active master key', () => {
  const ring = keyringFromBase64(randomBytes(32).toString('base64'));
  const dek = generateDataKey();
  const { masterKeyId, wrapped } = wrapDataKey(ring, dek, 'rec_1');
  assert.equal(masterKeyId, ring.activeId);
  assert.deepEqual(unwrapDataKey(ring, masterKeyId, wrapped, 'rec_1'), dek);
  // The wrapped key is bound to its owner through aad.
  assert.throws(() => unwrapDataKey(ring, masterKeyId, wrapped, 'rec_2'), badCiphertext);
  assert.throws(() => unwrapDataKey(ring, 'mk_0000000000000000', wrapped, 'rec_1'), { message: /^crypto\.unknown_master_key/ });
  // A wrapped key cannot be opened as a record sealed under the master key with the same aad.
  const master = ring.keys.get(ring.activeId);
  assert.ok(master);
  assert.throws(() => open(master, wrapped, Buffer.from('rec_1')), badCiphertext);
});

void test('a different master key cannot unwrap', () => {
  const a = keyringFromBase64(randomBytes(32).toString('base64'));
  const b = keyringFromBase64(randomBytes(32).toString('base64'));
  const { wrapped } = wrapDataKey(a, generateDataKey(), 'rec_1');
  // Same id claimed, different key material.
  const forged = { activeId: a.activeId, keys: new Map([[a.activeId, b.keys.get(b.activeId) ?? Buffer.alloc(32)]]) };
  assert.throws(() => unwrapDataKey(forged, a.activeId, wrapped, 'rec_1'), badCiphertext);
});

void test('rotation: a data key wrapped under the old master still unwraps; new wraps use the new key', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'mamori-envelope-'));
  try {
    const file = path.join(dir, 'keys', 'master.json');
    const before = await createKeyringFile(file, new Date('2024-01-01T00:00:00Z'));
    const dek = generateDataKey();
    const old = wrapDataKey(before, dek, 'rec_1');

    const rotated = await rotateKeyringFile(file, new Date('2024-06-01T00:00:00Z'));
    assert.notEqual(rotated.activeId, before.activeId);
    const reread = await readKeyringFile(file);
    assert.equal(reread.activeId, rotated.activeId);
    assert.deepEqual(unwrapDataKey(reread, old.masterKeyId, old.wrapped, 'rec_1'), dek);

    const fresh = wrapDataKey(reread, dek, 'rec_1');
    assert.equal(fresh.masterKeyId, rotated.activeId);
    // The pre-rotation keyring does not know the new key.
    assert.throws(() => unwrapDataKey(before, fresh.masterKeyId, fresh.wrapped, 'rec_1'), { message: /^crypto\.unknown_master_key/ });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
