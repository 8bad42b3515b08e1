import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { isValidCorporateNumber } from './vault.corporate-number.ts';
import { DEMO_CONTACT_FIELDS, generateDemoContacts, writeDemoCsv, type DemoContact } from './vault.demo-data.ts';

const N = 100_000;

// One shared run: generating is cheap, but holding several 100k-object copies is not.
// One shared run: generating is cheap, but holding several 100k-object copies is not.
let cached: DemoContact[] | undefined;
function seed1(): DemoContact[] {
  cached ??= [...generateDemoContacts(N, 1)];
  return cached;
}

test('generation of 100,000 contacts (timing reported as a diagnostic)', (t) => {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let n = 0;
  for (const _ of generateDemoContacts(N, 7)) n++;
  const cpu = process.cpuUsage(cpu0);
  // CPU time too: wall time on a shared CI machine says more about the neighbours than the code.
  t.diagnostic(
    `generateDemoContacts(${N}, 7): ${Math.round(performance.now() - t0)} ms wall, ${Math.round((cpu.user + cpu.system) / 1000)} ms CPU`,
  );
  assert.equal(n, N);
});

test('same seed gives identical output; another seed differs', () => {
  const a = [...generateDemoContacts(2000, 42)];
  const b = [...generateDemoContacts(2000, 42)];
  const c = [...generateDemoContacts(2000, 43)];
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.equal(a.length, 2000);
});

test('count 0 yields nothing; bad count is rejected', () => {
  assert.deepEqual([...generateDemoContacts(0, 1)], []);
  assert.throws(() => [...generateDemoContacts(-1, 1)], RangeError);
  assert.throws(() => [...generateDemoContacts(1.5, 1)], RangeError);
});

test('emails are unique across 100,000 contacts (seed 1)', () => {
  const all = seed1();
  assert.equal(all.length, N);
  assert.equal(new Set(all.map((c) => c.email)).size, N);
});

test('corporate numbers are valid, unique per company, and companies are shared (~12,000)', () => {
  const companyOf = new Map<string, string>();
  const numberOf = new Map<string, string>();
  for (const c of seed1()) {
    assert.ok(isValidCorporateNumber(c.corporate_number), 'invalid corporate number');
    const company = `${c.company_name}\u0000${c.company_address}`;
    assert.equal(companyOf.get(c.corporate_number) ?? company, company, 'one number for two companies');
    assert.equal(numberOf.get(company) ?? c.corporate_number, c.corporate_number, 'two numbers for one company');
    companyOf.set(c.corporate_number, company);
    numberOf.set(company, c.corporate_number);
  }
  assert.ok(companyOf.size > 9_000 && companyOf.size < 13_000, `company count ${companyOf.size}`);
});

test('formats: phones, postal codes, names, emails, kana', () => {
  const DIRECT = /^0\d{1,4}-\d{1,4}-\d{4}$/;
  const MOBILE = /^0[789]0-[1-9]\d{3}-\d{4}$/;
  const POSTAL = /^\d{3}-\d{4}$/;
  const EMAIL = /^[a-z]+(\.[a-z]+)?\.[a-z]+\d*@[a-z0-9-]+\.(co\.jp|jp|com)$/;
  const KATAKANA_WORD = '[\\u30A1-\\u30FC]+';
  const NAME_KANA = new RegExp(`^${KATAKANA_WORD} ${KATAKANA_WORD}$`);
  for (const c of seed1()) {
    assert.match(c.direct_phone, DIRECT);
    assert.equal(c.direct_phone.replaceAll('-', '').length, 10, 'fixed-line numbers have 10 digits');
    assert.match(c.mobile_phone, MOBILE);
    assert.match(c.office_postal_code, POSTAL);
    assert.match(c.email, EMAIL);
    assert.match(c.person_name, /^\S+ \S+$/);
    assert.match(c.person_name_kana, NAME_KANA);
    assert.match(c.company_name_kana, /^[\u30A1-\u30FC]+$/);
    assert.match(c.company_name, /株式会社|有限会社|合同会社/);
    assert.ok(c.company_address.startsWith(c.prefecture));
  }
});

test('area codes follow the company city', () => {
  const expect: [string, string][] = [
    ['東京都千代田区', '03-'],
    ['大阪府大阪市北区', '06-'],
    ['愛知県名古屋市中区', '052-'],
    ['神奈川県横浜市西区', '045-'],
    ['北海道札幌市中央区', '011-'],
    ['福岡県福岡市博多区', '092-'],
  ];
  for (const [place, code] of expect) {
    const inPlace = seed1().filter((c) => c.company_address.startsWith(place));
    assert.ok(inPlace.length > 0, `no company in ${place}`);
    for (const c of inPlace) assert.ok(c.direct_phone.startsWith(code), `${place} → ${code}`);
  }
});

test('variety: all 47 prefectures, Tokyo heaviest, many names, titles and departments', () => {
  const all = seed1();
  const count = (f: (c: DemoContact) => string) => {
    const m = new Map<string, number>();
    for (const c of all) m.set(f(c), (m.get(f(c)) ?? 0) + 1);
    return m;
  };
  const prefs = count((c) => c.prefecture);
  assert.equal(prefs.size, 47);
  const ranked = [...prefs].sort((a, b) => b[1] - a[1]).map(([p]) => p);
  assert.equal(ranked[0], '東京都');
  assert.ok(ranked.slice(0, 5).includes('大阪府'));
  assert.ok(count((c) => c.person_name.split(' ')[0] ?? '').size >= 80);
  assert.ok(count((c) => c.person_name.split(' ')[1] ?? '').size >= 60);
  const titles = count((c) => c.title);
  assert.ok(titles.has('') && titles.has('代表取締役') && titles.has('課長'));
  assert.ok(count((c) => c.department).size >= 15);
  assert.ok(all.some((c) => c.company_name.startsWith('株式会社')) && all.some((c) => c.company_name.endsWith('株式会社')));
  assert.ok(all.some((c) => c.company_name_kana.includes('カブシキガイシャ')));
});

test('DEMO_CONTACT_FIELDS covers every DemoContact key once, in generator order', () => {
  const sample = generateDemoContacts(1, 1).next().value;
  assert.ok(sample !== undefined);
  assert.deepEqual(
    DEMO_CONTACT_FIELDS.map((f) => f.name),
    Object.keys(sample),
  );
  const byName = new Map(DEMO_CONTACT_FIELDS.map((f) => [f.name, f]));
  assert.equal(byName.get('mobile_phone')?.classification, 'confidential');
  assert.equal(byName.get('company_name')?.search, 'prefix');
  assert.equal(byName.get('person_name')?.kind, 'name');
});

test('writeDemoCsv writes a header and RFC 4180 rows that round-trip', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mamori-demo-'));
  try {
    const path = join(dir, 'demo.csv');
    await writeDemoCsv(path, 2500, 5);
    const text = await readFile(path, 'utf8');
    assert.ok(text.endsWith('\r\n'));
    const rows: string[][] = parse(text);
    assert.deepEqual(rows[0], DEMO_CONTACT_FIELDS.map((f) => f.name));
    const expected = [...generateDemoContacts(2500, 5)];
    assert.equal(rows.length, expected.length + 1);
    for (let i = 0; i < expected.length; i++) {
      assert.deepEqual(rows[i + 1], Object.values(expected[i] as DemoContact));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
