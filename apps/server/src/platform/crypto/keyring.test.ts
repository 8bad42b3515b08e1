import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createKeyringFile,
  keyringFromBase64,
  openOrCreateKeyringFile,
  readKeyringFile,
  rotateKeyringFile,
} from './keyring.ts';

const POSIX = process.platform !== 'win32';
const NOW = new Date('2024-04-01T09:00:00.000Z');

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mamori-keyring-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

void test('createKeyringFile: creates parent dirs, mode 0600, documented JSON shape', async () => {
  await withDir(async (dir) => {
    const file = path.join(dir, 'a', 'b', 'master.json');
    const ring = await createKeyringFile(file, NOW);
    if (POSIX) assert.equal((await stat(file)).mode & 0o777, 0o600);
    const doc = JSON.parse(await readFile(file, 'utf8')) as {
      version: number;
      active: string;
      keys: { id: string; key: string; createdAt: string }[];
    };
    assert.equal(doc.version, 1);
    assert.equal(doc.active, ring.activeId);
    assert.equal(doc.keys.length, 1);
    const [k] = doc.keys;
    assert.ok(k);
    assert.match(k.id, /^mk_[0-9a-f]{16}$/);
    assert.equal(k.createdAt, NOW.toISOString());
    assert.equal(Buffer.from(k.key, 'base64').length, 32);
    assert.deepEqual(ring.keys.get(k.id), Buffer.from(k.key, 'base64'));
  });
});

void test('createKeyringFile never overwrites an existing file', async () => {
  await withDir(async (dir) => {
    const file = path.join(dir, 'master.json');
    await createKeyringFile(file, NOW);
    const before = await readFile(file, 'utf8');
    await assert.rejects(createKeyringFile(file, NOW), { code: 'EEXIST' });
    assert.equal(await readFile(file, 'utf8'), before);
  });
});

void test('readKeyringFile returns the same keys that were created', async () => {
  await withDir(async (dir) => {
    const file = path.join(dir, 'master.json');
    const created = await createKeyringFile(file, NOW);
    const read = await readKeyringFile(file);
    assert.equal(read.activeId, created.activeId);
    assert.deepEqual([...read.keys.entries()], [...created.keys.entries()]);
  });
});

void test('readKeyringFile refuses a file readable by group/other', { skip: !POSIX }, async () => {
  await withDir(async (dir) => {
    const file = path.join(dir, 'master.json');
    await createKeyringFile(file, NOW);
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      await chmod(file, mode);
      await assert.rejects(readKeyringFile(file), { message: /^crypto\.keyfile_insecure/ }, mode.toString(8));
    }
    await chmod(file, 0o600);
    await readKeyringFile(file);
    // Rotation reads through the same check.
    await chmod(file, 0o644);
    await assert.rejects(rotateKeyringFile(file, NOW), { message: /^crypto\.keyfile_insecure/ });
  });
});

void test('readKeyringFile rejects malformed content without echoing key material', async () => {
  const key = randomBytes(32).toString('base64');
  const good = { version: 1, active: 'mk_0123456789abcdef', keys: [{ id: 'mk_0123456789abcdef', key, createdAt: NOW.toISOString() }] };
  const bad: unknown[] = [
    'not json',
    null,
    [],
    { ...good, version: 2 },
    { ...good, active: 'mk_ffffffffffffffff' },
    { ...good, keys: [] },
    { ...good, keys: [{ ...good.keys[0], id: 'key1' }] },
    { ...good, keys: [{ ...good.keys[0], key: randomBytes(16).toString('base64') }] },
    { ...good, keys: [{ ...good.keys[0], key: key.slice(0, 20) + '!!' + key.slice(22) }] },
    { ...good, keys: [{ ...good.keys[0], createdAt: 'yesterday' }] },
    { ...good, keys: [good.keys[0], good.keys[0]] },
  ];
  await withDir(async (dir) => {
    const file = path.join(dir, 'master.json');
    await writeFile(file, JSON.stringify(good), { mode: 0o600 });
    await readKeyringFile(file); // the baseline is valid
    for (const [i, content] of bad.entries()) {
      await rm(file);
      await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content), { mode: 0o600 });
      await assert.rejects(
        readKeyringFile(file),
        (e: Error) => /^crypto\.keyfile_invalid/.test(e.message) && !e.message.includes(key),
        `case ${i}`,
      );
    }
  });
});

void test('rotateKeyringFile: new active key, old keys kept, 0600, no temp files left', async () => {
  await withDir(async (dir) => {
    const file = path.join(dir, 'master.json');
    const first = await createKeyringFile(file, NOW);
    const second = await rotateKeyringFile(file, new Date('2024-05-01T00:00:00Z'));
    const third = await rotateKeyringFile(file, new Date('2024-06-01T00:00:00Z'));
    assert.equal(third.keys.size, 3);
    assert.notEqual(second.activeId, first.activeId);
    assert.notEqual(third.activeId, second.activeId);
    for (const id of [first.activeId, second.activeId]) {
      const before = (id === first.activeId ? first : second).keys.get(id);
      assert.deepEqual(third.keys.get(id), before);
    }
    if (POSIX) assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(dir), ['master.json']);
    const doc = JSON.parse(await readFile(file, 'utf8')) as { keys: { createdAt: string }[] };
    // createdAt of existing keys is preserved.
    assert.deepEqual(doc.keys.map((k) => k.createdAt), [NOW.toISOString(), '2024-05-01T00:00:00.000Z', '2024-06-01T00:00:00.000Z']);
    const reread = await readKeyringFile(file);
    assert.equal(reread.activeId, third.activeId);
  });
});

void test('openOrCreateKeyringFile creates on first run, then reads the same keyring', async () => {
  await withDir(async (dir) => {
    const file = path.join(dir, 'keys', 'master.json');
    const a = await openOrCreateKeyringFile(file, NOW);
    const b = await openOrCreateKeyringFile(file, NOW);
    assert.equal(a.activeId, b.activeId);
    assert.deepEqual(a.keys.get(a.activeId), b.keys.get(b.activeId));
  });
});

void test('keyringFromBase64: id is mk_ + first 16 hex of sha256(key)', () => {
  const key = randomBytes(32);
  const ring = keyringFromBase64(key.toString('base64') + '\n');
  assert.equal(ring.activeId, 'mk_' + createHash('sha256').update(key).digest('hex').slice(0, 16));
  assert.deepEqual(ring.keys.get(ring.activeId), key);
  assert.equal(ring.keys.size, 1);
});

void test('keyringFromBase64: previous keys are available for unwrapping, first key is active', () => {
  const active = randomBytes(32).toString('base64');
  const old = randomBytes(32).toString('base64');
  const ring = keyringFromBase64(active, [old]);
  assert.equal(ring.keys.size, 2);
  assert.equal(ring.activeId, keyringFromBase64(active).activeId);
  assert.ok(ring.keys.has(keyringFromBase64(old).activeId));
});

void test('keyringFromBase64 rejects wrong-length or non-base64 keys', () => {
  for (const bad of ['', 'abc', randomBytes(16).toString('base64'), randomBytes(33).toString('base64'), '!'.repeat(43) + '=']) {
    assert.throws(() => keyringFromBase64(bad), { message: /^crypto\.master_key_invalid/ });
  }
});
