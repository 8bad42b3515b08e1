/**
 * The worker pool: reports come back packed (typed arrays transferred, excerpts in one string) and
 * unpack to exactly the report of a scan in this thread — whole files and chunks of a large CSV
 * cut at line breaks (outside quotes), with the header's column context carried to every chunk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DlpReport } from '@mamori/contracts';
import { packReport, scanFiles, unpackReport } from './dlp.pool.ts';
import { scanText } from './index.ts';

const MY_NUMBER = '123456789018';

void test('packReport/unpackReport: the same report; the typed arrays are what is transferred', () => {
  const r = scanText('a.txt', `個人番号：${MY_NUMBER}\n電話 03-1234-5678 𠮷 mail hanako@example.jp\n住所 東京都千代田区丸の内1-1-1`);
  assert.equal(r.findings.length, 4);
  const { packed, transfer } = packReport(r);
  assert.deepEqual(transfer, [packed.ints.buffer, packed.ends.buffer]);
  assert.deepEqual(unpackReport(packed), r);
  const summary = scanText('a.txt', `電話 03-1234-5678 / 090-1234-5678`, { maxFindings: 1 });
  assert.equal(summary.omittedFindings, 1);
  assert.deepEqual(unpackReport(packReport(summary).packed), summary);
});

void test('scanFiles on a pool gives the findings of a scan in this thread, in file order, chunks included', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'mamori-dlp-pool-'));
  try {
    // A CSV cut into chunks: quoted fields with line breaks, the header's context (個人番号) needed in every chunk.
    let csv = '氏名,個人番号,電話,備考\n';
    for (let i = 0; i < 400; i++) csv += `山田${i},${MY_NUMBER},03-1234-${String(1000 + i)},"複数行の\n備考 ${i}"\n`;
    const files = [
      { name: 'a-memo.txt', text: `マイナンバー：${MY_NUMBER}\nTEL 090-1234-5678\n` },
      { name: 'b-list.csv', text: csv },
      { name: 'c-note.txt', text: 'nothing here\n' },
    ];
    const list: { file: string; size: number }[] = [];
    for (const f of files) {
      const file = path.join(dir, f.name);
      await writeFile(file, f.text);
      list.push({ file, size: Buffer.byteLength(f.text) });
    }
    const collect = async (workers: number): Promise<DlpReport[]> => {
      const out: DlpReport[] = [];
      await scanFiles(list, { scan: {}, workers, poolMinBytes: 0, chunkBytes: 4096, onReport: (r) => out.push(r) });
      return out;
    };
    const single = await collect(0);
    const pooled = await collect(2);
    assert.equal(single.length, 3);
    assert.ok(pooled.length > 3, 'the CSV was cut into chunks');
    const flat = (rs: DlpReport[]): string[] => rs.flatMap((r) => r.findings.map((f) => JSON.stringify(f)));
    assert.deepEqual(flat(pooled), flat(single));
    const count = (rs: DlpReport[], k: 'my_number' | 'phone'): number => rs.reduce((a, r) => a + (r.summary[k] ?? 0), 0);
    assert.equal(count(pooled, 'my_number'), 401);
    assert.equal(count(pooled, 'phone'), 401);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
