import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import iconv from 'iconv-lite';
import { decryptFile, EncryptedFileWriter, sinkFor } from './extraction.file.ts';
import { canaryPositions, Fingerprinter } from './extraction.watermark.ts';
import { readLeakedFile } from './extraction.trace.ts';
import { tempFolders } from '../../../test/support/temp.ts';

const tempDir = tempFolders('mamori-export-');

async function roundTrip(format: 'csv_utf8' | 'csv_sjis' | 'xlsx', rows: string[][]) {
  const dir = await tempDir();
  const file = path.join(dir, 'x.mmx');
  const key = randomBytes(32);
  const w = new EncryptedFileWriter(file, key, 'export-1');
  const sink = await sinkFor(format, w);
  for (const r of rows) await sink.row(r);
  await sink.finish();
  await w.close();
  const chunks: Buffer[] = [];
  for await (const c of decryptFile(file, key, 'export-1')) chunks.push(c);
  return { file, key, plain: Buffer.concat(chunks) };
}

const ROWS = [['氏名', 'メール', '備考'], ['山田　太郎', 'taro@example.co.jp', 'a,"b"'], ['髙橋 花子', 'h@example.jp', '改行\nあり']];

void test('the three formats round-trip through the encrypted file; CSV UTF-8 has a BOM, Shift_JIS is CP932', async () => {
  const u = await roundTrip('csv_utf8', ROWS);
  assert.deepEqual([...u.plain.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
  assert.deepEqual(readLeakedFile(u.plain), ROWS);
  const s = await roundTrip('csv_sjis', ROWS);
  assert.equal(iconv.decode(s.plain, 'cp932').split('\r\n')[1], '山田　太郎,taro@example.co.jp,"a,""b"""', 'CP932 covers 髙 and U+3000');
  assert.deepEqual(readLeakedFile(s.plain), ROWS);
  const x = await roundTrip('xlsx', ROWS);
  assert.deepEqual(readLeakedFile(x.plain), ROWS);
});

void test('a tampered, truncated or foreign export file does not open', async () => {
  const many = Array.from({ length: 40_000 }, (_, i) => [`行${i}`, 'x'.repeat(40)]);
  const { file, key } = await roundTrip('csv_utf8', many);
  const bytes = await readFile(file);
  const drain = async (k: Buffer, id = 'export-1') => {
    for await (const _ of decryptFile(file, k, id)) void _;
  };
  await assert.rejects(drain(randomBytes(32)));
  await assert.rejects(drain(key, 'export-2'));
  await writeFile(file, bytes.subarray(0, bytes.length - 100));
  await assert.rejects(drain(key));
  const flipped = Buffer.from(bytes);
  flipped[100] = flipped[100]! ^ 1;
  await writeFile(file, flipped);
  await assert.rejects(drain(key));
  // Whole chunks dropped from the end: the last-chunk marker is missing.
  const firstLen = bytes.readUInt32BE(4);
  await writeFile(file, bytes.subarray(0, 8 + firstLen));
  await assert.rejects(drain(key));
});

void test('fingerprint: a keyed choice of space per name, detectable again, different per export', () => {
  const a = new Fingerprinter(randomBytes(32));
  const b = new Fingerprinter(randomBytes(32));
  const names = Array.from({ length: 64 }, (_, i) => `山田${i} 太郎`);
  const written = names.map((n) => a.apply('name', n));
  assert.ok(written.some((n) => n.includes('\u3000')) && written.some((n) => n.includes(' ')));
  assert.ok(written.every((n) => a.check(n) === true));
  assert.ok(written.filter((n) => b.check(n) === true).length < 56, 'another key agrees only by chance');
  assert.equal(a.apply('email', 'a b'), 'a b', 'only names carry it');
  assert.equal(a.apply('name', '山田太郎'), '山田太郎');
  const pos = canaryPositions(randomBytes(32), 100, 5);
  assert.equal(new Set(pos).size, 5);
  assert.ok(pos.every((p) => p >= 0 && p < 105));
});

void test('the export workers write exactly the bytes the main thread would (decrypt, fingerprint, quoting, canaries, encoding)', async () => {
  const { seal } = await import('../../platform/crypto/envelope.ts');
  const { aadFor } = await import('../vault/vault.codec.ts');
  const { createTransformPool } = await import('./extraction.transform.ts');
  const { framePacked } = await import('./extraction.repository.ts');
  const iconv = (await import('iconv-lite')).default;
  const dataKey = randomBytes(32);
  const fpKey = randomBytes(32);
  const fields = [{ name: 'company', kind: 'text' }, { name: 'person', kind: 'name' }, { name: 'email', kind: 'email' }, { name: 'note', kind: 'text' }];
  const rows = Array.from({ length: 50 }, (_, i) => {
    const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    return {
      id, public: JSON.stringify({ company: `会社${i}, "株"`, note: i % 2 ? '改行\nあり' : '' }), key_id: 'dk1',
      sealed: seal(dataKey, Buffer.from(JSON.stringify({ person: `山田${i} 太郎`, email: `t${i}@example.jp` })), aadFor('ds-1', id)),
    };
  });
  const fp = new Fingerprinter(fpKey);
  const q = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
  const lines = rows.map((_, i) => [`会社${i}, "株"`, fp.apply('name', `山田${i} 太郎`), `t${i}@example.jp`, i % 2 ? '改行\nあり' : ''].map(q).join(','));
  // Canaries after the first row, twice after row 24 (the last of the first worker's slice), and after the last row.
  const canaries = [{ after: 0, line: 'canary-a' }, { after: 24, line: 'canary-b' }, { after: 24, line: 'canary-c' }, { after: 49, line: 'canary-d' }];
  const expected: string[] = [];
  lines.forEach((l, i) => {
    expected.push(l);
    for (const c of canaries) if (c.after === i) expected.push(c.line);
  });
  const text = expected.map((l) => `${l}\r\n`).join('');
  // Packed as PostgreSQL's binary COPY writes a batch (extraction.repository.ts PackedBatch); two batches split at row 25.
  const pack = (part: typeof rows) => {
    const int = (n: number, size: 2 | 4) => {
      const b = Buffer.alloc(size);
      if (size === 2) b.writeInt16BE(n);
      else b.writeInt32BE(n);
      return b;
    };
    const field = (b: Buffer) => [int(b.length, 4), b];
    const data = Buffer.concat([
      Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), int(0, 4), int(0, 4),
      ...part.flatMap((r) => [int(4, 2), ...field(Buffer.from(r.id.replaceAll('-', ''), 'hex')), ...field(Buffer.from(r.public, 'utf8')), ...field(r.sealed), ...field(Buffer.from(r.key_id, 'utf8'))]),
      int(-1, 2),
    ]);
    // Whole buffers, as a COPY's result is: they can be moved to a worker.
    return framePacked(Buffer.from(new Uint8Array(data).buffer), true);
  };
  const at = (from: number, to: number) => canaries.filter((c) => c.after >= from && c.after < to).map((c) => ({ after: c.after - from, line: c.line }));
  for (const encoding of ['utf8', 'cp932'] as const) {
    const pool = createTransformPool({ datasetId: 'ds-1', dataKeys: [['dk1', dataKey]], fields, fingerprintKey: fpKey, needsPersonal: true, encoding }, 2);
    try {
      const first = pack(rows.slice(0, 25));
      assert.equal(first.rows, 25);
      assert.equal(first.lastId, rows[24]!.id);
      assert.deepEqual(first.ids, rows.slice(0, 25).map((r) => r.id));
      const pooled = pack(rows.slice(0, 1));
      const small = { ...pooled, data: Buffer.concat([pooled.data]) };
      const shared = small.data.buffer.byteLength;
      const chunks = await Promise.all([pool.transform(first, at(0, 25)), pool.transform(pack(rows.slice(25)), at(25, 50))]);
      assert.equal(first.data.buffer.byteLength, 0, 'the batch was moved to the worker, not copied');
      await pool.transform(small);
      assert.equal(small.data.buffer.byteLength, shared, "a slice of Node's shared buffer pool is copied, never moved");
      assert.deepEqual(Buffer.concat(chunks), encoding === 'utf8' ? Buffer.from(text, 'utf8') : iconv.encode(text, 'cp932'), encoding);
      // A record sealed under another key is refused, with nothing about the record; so is a cut batch.
      const bad = { ...rows[0]!, sealed: seal(randomBytes(32), Buffer.from('{}'), aadFor('ds-1', rows[0]!.id)) };
      await assert.rejects(pool.transform(pack([bad])), /crypto.bad_ciphertext/);
      const cut = pack(rows.slice(0, 3));
      await assert.rejects(pool.transform({ ...cut, data: Buffer.from(cut.data.subarray(0, cut.data.length - 5)) }), /crypto.bad_ciphertext/);
      assert.throws(() => framePacked(cut.data.subarray(0, cut.data.length - 5)), 'a cut batch does not frame');
    } finally {
      await pool.close();
    }
  }
});

void test('an aborted file is closed before it is removed: it does not come back, and later writes are refused', async () => {
  const dir = await tempDir();
  // Aborted at once, before the stream's deferred open: without waiting for the close, the open
  // would run after the removal and leave an empty file behind.
  const early = path.join(dir, 'early.part');
  const w1 = new EncryptedFileWriter(early, randomBytes(32), 'export-1');
  await w1.abort();
  assert.equal(existsSync(early), true, 'abort resolves only after the deferred open has run');
  await rm(early, { force: true });
  await sleep(20);
  assert.equal(existsSync(early), false, 'an abort before the open leaves nothing once removed');
  await assert.rejects(w1.write(Buffer.from('x')), /export\.file_aborted/);

  // Aborted in the middle of writing: the XLSX sink's own pump is still feeding it.
  const mid = path.join(dir, 'mid.part');
  const w2 = new EncryptedFileWriter(mid, randomBytes(32), 'export-2');
  const sink = await sinkFor('xlsx', w2);
  for (let i = 0; i < 20_000; i++) await sink.row([`行${i}`, 'x'.repeat(60)]);
  await w2.abort();
  await rm(mid, { force: true });
  await sleep(20);
  assert.equal(existsSync(mid), false, 'an abort mid-file leaves nothing once removed');
  await assert.rejects(w2.write(Buffer.alloc(2 * 1024 * 1024)), /export\.file_aborted/);
});

void test('a long file waits for the disk without piling up listeners on its stream', async () => {
  const dir = await tempDir();
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  try {
    const w = new EncryptedFileWriter(path.join(dir, 'long.part'), randomBytes(32), 'export-3');
    // Every 1 MiB chunk exceeds the stream's buffer, so each one waits for 'drain'.
    for (let i = 0; i < 24; i++) await w.write(Buffer.alloc(1024 * 1024, i));
    const out = (w as unknown as { out: NodeJS.EventEmitter }).out;
    assert.ok(out.listenerCount('close') <= 2 && out.listenerCount('error') <= 2, `listeners: close ${out.listenerCount('close')}, error ${out.listenerCount('error')}`);
    await w.close();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(warnings.filter((n) => n === 'MaxListenersExceededWarning'), []);
  } finally {
    process.off('warning', onWarning);
  }
});
