/**
 * Exact data match against a real imported dataset (the seeded demo contacts) through the blind
 * indexes, and the CLI's `--json` output shape.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { startTestApp, type TestApp } from './support/app.ts';
import { tempFolders } from './support/temp.ts';
import { generateDemoContacts } from '../src/modules/vault/vault.demo-data.ts';
import { createVaultMatcher, scanBuffer, scanText } from '../src/modules/dlp/index.ts';

const tempDir = tempFolders('mamori-dlp-');

let t: TestApp;
const CONTACTS = 40;
const contacts = [...generateDemoContacts(CONTACTS, 1)];

before(async () => {
  t = await startTestApp({ demoContacts: CONTACTS });
});
after(async () => {
  await t?.close();
});

void test('vault_match: e-mails, phones, names and kana of the vault are found in a mail and a CSV; strangers are not', async () => {
  const vault = createVaultMatcher(t.ctx.db, t.ctx.keyring);
  assert.deepEqual(await vault.fields(), ['contacts.person_name', 'contacts.person_name_kana', 'contacts.email', 'contacts.direct_phone', 'contacts.mobile_phone']);
  const a = contacts[3]!;
  const b = contacts[11]!;
  const body = [
    `${a.person_name} 様`,
    `ご連絡先: ${a.email.toUpperCase()} / 携帯 ${a.mobile_phone.replace(/-/g, '')}`,
    `担当${b.person_name.replace(' ', '')}より`,
    '無関係: stranger@example.org 090-0000-0000 田中 一二三',
  ].join('\n');
  const r = await scanBuffer('mail.txt', Buffer.from(body), { vault });
  const matches = r.findings.filter((f) => f.kind === 'vault_match');
  assert.deepEqual(matches.map((f) => f.line), [1, 2, 2, 3]);
  assert.deepEqual(matches.map((f) => f.excerpt.split(':')[0]), ['contacts.person_name', 'contacts.email', 'contacts.mobile_phone', 'contacts.person_name']);
  for (const f of matches) {
    assert.equal(f.confidence, 0.99);
    for (const v of [a.person_name, a.email, a.email.toUpperCase(), a.mobile_phone.replace(/-/g, ''), b.person_name.replace(' ', '')]) assert.ok(!f.excerpt.includes(v), f.excerpt);
  }
  assert.equal(r.summary.vault_match, 4);

  // A CSV export of the vault: every personal cell is a match, at its row and column.
  const csv = `氏名,カナ,メール\n${contacts.slice(0, 5).map((c) => `${c.person_name},${c.person_name_kana},${c.email}`).join('\n')}\n`;
  const r2 = await scanBuffer('export.csv', Buffer.from(csv), { vault });
  const cells = r2.findings.filter((f) => f.kind === 'vault_match').map((f) => `${f.line}:${f.column}`);
  for (let row = 2; row <= 6; row++) for (let col = 1; col <= 3; col++) assert.ok(cells.includes(`${row}:${col}`), `${row}:${col} in ${cells.join(' ')}`);

  // Nothing of the vault in it: no match; and the synchronous API refuses a vault rather than ignore it.
  const r3 = await scanBuffer('x.txt', Buffer.from('山田 太郎 yamada@example.net 03-0000-0000'), { vault });
  assert.equal(r3.summary.vault_match, undefined);
  assert.throws(() => scanText('x.txt', 'a', { vault }), /scanBuffer/);
});

void test('mamori dlp scan --json prints one JSON object per finding with the stable keys', async () => {
  const dir = await tempDir();
  await writeFile(path.join(dir, 'memo.txt'), '個人番号：123456789018\n電話 03-1234-5678\n');
  await writeFile(path.join(dir, 'list.csv'), '氏名,メール\n山田,taro@example.jp\n');
  const bin = path.join(import.meta.dirname, '..', 'bin', 'mamori.mjs');
  const { stdout } = await promisify(execFile)(process.execPath, [bin, 'dlp', 'scan', '--json', dir], { env: { ...process.env, MAMORI_DATA_DIR: dir } });
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(lines.map((l) => Object.keys(l)), Array(3).fill(['kind', 'file', 'line', 'column', 'length', 'confidence', 'excerpt']));
  assert.deepEqual(lines.map((l) => [l.kind, path.basename(String(l.file)), l.line, l.column, l.length]), [
    ['email', 'list.csv', 2, 2, 15],
    ['my_number', 'memo.txt', 1, 6, 12],
    ['phone', 'memo.txt', 2, 4, 12],
  ]);
  for (const l of lines) {
    assert.equal(typeof l.confidence, 'number');
    assert.ok(!String(l.excerpt).includes('123456789018') && !String(l.excerpt).includes('taro@'));
  }
});

void test('mamori dlp scan (table): the first --max-findings of each file are shown, every finding is counted', async () => {
  const dir = await tempDir();
  await writeFile(path.join(dir, 'phones.txt'), 'TEL 03-1234-5678\nTEL 03-1234-5679\nTEL 03-1234-5670\n');
  const bin = path.join(import.meta.dirname, '..', 'bin', 'mamori.mjs');
  const { stdout } = await promisify(execFile)(process.execPath, [bin, 'dlp', 'scan', '--max-findings', '1', dir], { env: { ...process.env, MAMORI_DATA_DIR: dir } });
  const lines = stdout.split('\n');
  assert.equal(lines.filter((l) => l.startsWith('phone ')).length, 1, stdout);
  assert.ok(lines.some((l) => l.includes('and 2 more finding(s) not shown')), stdout);
  assert.ok(lines.some((l) => /^\s+phone\s+3$/.test(l)), stdout);
  assert.ok(lines.some((l) => l.includes(': 3 finding(s)')), stdout);
});
