import { randomBytes } from 'node:crypto';
import { seal } from '../apps/server/src/platform/crypto/envelope.ts';
import { aadFor } from '../apps/server/src/modules/vault/vault.codec.ts';
// @ts-expect-error plain JS
import { createTransform } from '../apps/server/src/modules/extraction/extraction.transform.core.mjs';
const dataKey = randomBytes(32);
const fields = ['corp','company','dept','title','name','kana','email','phone','mobile','postal','address'].map((n) => ({ name: n, kind: n === 'name' ? 'name' : n === 'kana' ? 'kana' : 'text' }));
const N = 10000;
const int = (n: number, size: 2 | 4) => { const b = Buffer.alloc(size); if (size === 2) b.writeInt16BE(n); else b.writeInt32BE(n); return b; };
const field = (b: Buffer) => [int(b.length, 4), b];
const parts: Buffer[] = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), int(0, 4), int(0, 4)];
for (let i = 0; i < N; i++) {
  const id = `0190a2b4-aaaa-4bbb-8ccc-${String(i).padStart(12, '0')}`;
  const pub = Buffer.from(JSON.stringify({ corp: '1234567890123', company: `株式会社テスト${i}`, dept: '営業部', title: '部長', postal: '100-0005', address: `東京都千代田区丸の内1-2-${i} テストビル` }));
  const sealed = seal(dataKey, Buffer.from(JSON.stringify({ name: `山田${i % 500} 太郎`, kana: `ヤマダ${i % 500} タロウ`, email: `taro${i}@example.co.jp`, phone: '03-1234-5678', mobile: '090-1234-5678' })), aadFor('ds-1', id));
  parts.push(int(4, 2), ...field(Buffer.from(id.replaceAll('-', ''), 'hex')), ...field(pub), ...field(sealed), ...field(Buffer.from('dk1')));
}
parts.push(int(-1, 2));
const data = Buffer.concat(parts);
const t = createTransform({ datasetId: 'ds-1', dataKeys: [['dk1', dataKey]], fields, fingerprintKey: randomBytes(32), needsPersonal: true, encoding: 'utf8' });
for (let r = 0; r < Number(process.argv[2] ?? 15); r++) {
  const c0 = process.cpuUsage();
  t(data, []);
  const c = process.cpuUsage(c0);
  console.log(`cpu ${((c.user + c.system) / N).toFixed(2)} us/row`);
}
