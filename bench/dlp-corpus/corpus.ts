// The labelled DLP evaluation corpus, generated deterministically (seeded PRNG): realistic Japanese
// business mails and notes, employee and customer CSVs, product and order lists; with hard
// negatives — dates, times, prices, order and tracking numbers, JAN codes, product codes, numbers
// that fail their check digits (also next to the right keyword), phone-like numbers outside the
// numbering plan. Every personal value is recorded as a label {file, kind, line, column, length}
// at the moment it is written, so labels cannot drift from the text.
//
// `node --import tsx bench/dlp-corpus/corpus.ts [dir]` writes the documents and labels.json to dir
// (default bench/dlp-corpus/generated, not committed); `npm run bench -- dlp-quality` scores the
// scanner on it.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { corporateNumberCheckDigit, digitsOf, luhnValid, myNumberCheckDigit } from '../../apps/server/src/modules/dlp/dlp.checksums.ts';

export type Label = { file: string; kind: string; line: number; column: number; length: number };
export type Doc = { file: string; text: string; labels: Label[] };

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Builder {
  text = '';
  labels: Label[] = [];
  constructor(readonly file: string) {}
  add(s: string): this {
    this.text += s;
    return this;
  }
  pii(kind: string, s: string): this {
    const before = this.text;
    const nl = before.lastIndexOf('\n');
    const line = before.split('\n').length;
    this.labels.push({ file: this.file, kind, line, column: before.length - nl, length: s.length });
    this.text += s;
    return this;
  }
  done(): Doc {
    return { file: this.file, text: this.text, labels: this.labels };
  }
}

/** CSV labels use row (line) and column (cell index) like the scanner. */
class CsvBuilder {
  rows: string[][] = [];
  labels: Label[] = [];
  constructor(readonly file: string, header: string[]) {
    this.rows.push(header);
  }
  row(cells: (string | [string, string])[]): void {
    const r: string[] = [];
    cells.forEach((c, i) => {
      if (Array.isArray(c)) {
        this.labels.push({ file: this.file, kind: c[0], line: this.rows.length + 1, column: i + 1, length: c[1].length });
        r.push(c[1]);
      } else r.push(c);
    });
    this.rows.push(r);
  }
  done(): Doc {
    return { file: this.file, text: this.rows.map((r) => r.join(',')).join('\r\n') + '\r\n', labels: this.labels };
  }
}

const SURNAMES = ['佐藤', '鈴木', '高橋', '田中', '伊藤', '渡辺', '山本', '中村', '小林', '加藤', '吉田', '山田', '佐々木', '山口', '松本', '井上'];
const GIVEN = ['太郎', '花子', '健一', '美咲', '翔太', 'さくら', '大輔', '陽菜', '誠', '由美'];
const ROMAJI = ['sato', 'suzuki', 'takahashi', 'tanaka', 'ito', 'watanabe', 'yamamoto', 'nakamura', 'kobayashi', 'kato'];
const DOMAINS = ['example.co.jp', 'example.jp', 'corp.example.com', 'mail.example.ne.jp'];
const ADDRESSES: [string, string][] = [
  ['100-0005', '東京都千代田区丸の内1-9-1'], ['530-0001', '大阪府大阪市北区梅田3-1-1'], ['460-0008', '愛知県名古屋市中区栄3-5-1'],
  ['060-0005', '北海道札幌市中央区北5条西2-5'], ['812-0012', '福岡県福岡市博多区博多駅中央街1-1'], ['220-0012', '神奈川県横浜市西区みなとみらい2-2-1'],
  ['600-8216', '京都府京都市下京区烏丸通七条下ル東塩小路町721-1'], ['980-0021', '宮城県仙台市青葉区中央1-1-1'], ['272-0021', '千葉県市川市八幡2-4-8'],
  ['890-0053', '鹿児島県鹿児島市中央町1-1'],
];
const BANKS = ['みずほ銀行', '三菱UFJ銀行', '三井住友銀行', 'りそな銀行', '横浜銀行'];
const BRANCHES = ['本店営業部', '渋谷支店', '新宿支店', '梅田支店', '名古屋支店'];

export function generateCorpus(seed = 20261126): Doc[] {
  const rand = mulberry32(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
  const digits = (n: number): string => Array.from({ length: n }, () => Math.floor(rand() * 10)).join('');
  const myNumber = (): string => {
    const b = digits(11);
    return b + myNumberCheckDigit(digitsOf(b + '0'));
  };
  const badMyNumber = (): string => {
    const n = myNumber();
    return n.slice(0, 11) + ((Number(n[11]) + 1 + Math.floor(rand() * 8)) % 10);
  };
  const corporate = (): string => {
    const b = digits(12);
    return `${corporateNumberCheckDigit(digitsOf('0' + b))}${b}`;
  };
  const card = (prefix: string): string => {
    for (;;) {
      const n = prefix + digits(15 - prefix.length);
      for (let c = 0; c < 10; c++) if (luhnValid(digitsOf(n + c), 0, 16)) return n + c;
    }
  };
  const badCard = (): string => {
    const n = card('4');
    return n.slice(0, 15) + ((Number(n[15]) + 3) % 10);
  };
  /** A local exchange or subscriber group: never starts with 0 (the trunk prefix). */
  const ex = (n: number): string => `${2 + Math.floor(rand() * 8)}${digits(n - 1)}`;
  const mobile = (): string => `${pick(['090', '080', '070'])}-${digits(4)}-${digits(4)}`;
  const fixed = (): string => pick([`03-${ex(4)}-${digits(4)}`, `06-${ex(4)}-${digits(4)}`, `045-${ex(3)}-${digits(4)}`, `0956-${ex(2)}-${digits(4)}`, `(03)${ex(4)}-${digits(4)}`]);
  const email = (): string => `${pick(ROMAJI)}.${pick(ROMAJI)}${rand() < 0.3 ? Math.floor(rand() * 100) : ''}@${pick(DOMAINS)}`;
  const name = (): string => `${pick(SURNAMES)} ${pick(GIVEN)}`;
  const date = (): string => `20${10 + Math.floor(rand() * 15)}-${String(1 + Math.floor(rand() * 12)).padStart(2, '0')}-${String(1 + Math.floor(rand() * 28)).padStart(2, '0')}`;
  const price = (): string => `${Math.floor(rand() * 900 + 100)},${digits(3)}円`;
  const docs: Doc[] = [];

  // Mails: HR (My Number collection), sales (contacts), accounting (bank transfer, card), travel (passport, licence).
  for (let i = 0; i < 60; i++) {
    const b = new Builder(`mail-${String(i).padStart(3, '0')}.txt`);
    const [postal, addr] = pick(ADDRESSES);
    b.add(`件名: ${pick(['ご連絡', '書類提出のお願い', 'お見積りの件', '出張手配について', 'お振込先のご案内'])}\n\n${name()} 様\n\nいつもお世話になっております。${pick(SURNAMES)}です。\n`);
    b.add(`${date()} の打ち合わせ（10:30〜11:45）の件でご連絡いたします。お見積り金額は ${price()}（税込）です。\n`);
    b.add(`注文番号: ${digits(3)}-${digits(4)}、受注No. ${digits(8)}-${digits(4)}、追跡番号 ${digits(4)}-${digits(4)}-${digits(4)}\n`);
    switch (i % 5) {
      case 0: {
        b.add('年末調整のため、マイナンバーのご提出をお願いします。\n個人番号：').pii('my_number', myNumber()).add('\n');
        const n = myNumber();
        b.add('扶養家族の個人番号 ').pii('my_number', `${n.slice(0, 4)} ${n.slice(4, 8)} ${n.slice(8)}`).add(' もご記入ください。\n');
        b.add(`なお前回いただいた番号（マイナンバー ${badMyNumber()}）は誤りのようです。\n`);
        break;
      }
      case 1:
        b.add('連絡先は以下のとおりです。\nTEL: ').pii('phone', fixed()).add(' / 携帯: ').pii('phone', mobile()).add('\nMail: ').pii('email', email()).add('\n');
        b.add('〒').pii('postal_code', postal).add(' ').pii('address', addr).add('\n');
        break;
      case 2:
        b.add(`お振込先: ${pick(BANKS)} ${pick(BRANCHES)} 普通 `).pii('bank_account', digits(7)).add(` 名義 ${pick(SURNAMES)}\n`);
        b.add('または 口座番号 ').pii('bank_account', digits(7)).add(` (当座) へお願いします。請求書番号 ${digits(10)}\n`);
        b.add('法人番号: ').pii('corporate_number', corporate()).add(`\u3000適格請求書 登録番号 `).pii('corporate_number', `T${corporate()}`).add('\n');
        break;
      case 3:
        b.add('カード決済の控えです。カード番号 ').pii('credit_card', card(pick(['4', '52', '55', '3530', '3566'])).replace(/(\d{4})(?=\d)/g, '$1-')).add(` 有効期限 ${String(1 + Math.floor(rand() * 12)).padStart(2, '0')}/${28 + Math.floor(rand() * 5)}\n`);
        b.add(`カード番号（誤記）${badCard()} は利用できません。JAN ${'49' + digits(11)} の商品 ${price()}\n`);
        break;
      case 4:
        b.add('出張手配のため旅券番号 ').pii('passport', `${pick(['TK', 'TR', 'MZ', 'TZ'])}${digits(7)}`).add(' と運転免許証番号 ').pii('drivers_license', `${30 + Math.floor(rand() * 60)}${digits(10)}`).add(' をお知らせください。\n');
        b.add(`品番 AB${digits(7)}、型番 XR-${digits(3)}-${digits(4)} の在庫を確認します。\n`);
        break;
    }
    b.add(`\nよろしくお願いいたします。\n${pick(SURNAMES)}\n`);
    docs.push(b.done());
  }

  // Notes with hard negatives only (nothing personal).
  for (let i = 0; i < 20; i++) {
    const b = new Builder(`note-${String(i).padStart(3, '0')}.txt`);
    b.add(`議事録 ${date()} 14:00-15:30\n売上 ${price()}、前年比 ${(rand() * 20 + 95).toFixed(1)}%。受注件数 ${Math.floor(rand() * 900)} 件。\n`);
    b.add(`管理番号 ${digits(12)}、シリアル ${digits(16)}、ISBN 978-4-${digits(3)}-${digits(5)}-${digits(1)}\n`);
    b.add(`社内システム v${Math.floor(rand() * 9)}.${Math.floor(rand() * 20)}.${Math.floor(rand() * 99)}、問い合わせ番号 ${digits(3)}-${digits(4)}、内線 ${digits(4)}\n`);
    b.add(`東京都内の拠点と大阪府大阪市での展示会（${date()}）について検討。予算 ¥${digits(1)},${digits(3)},${digits(3)}\n`);
    b.add(`電話番号の形式チェック例: 090-${digits(4)}-${digits(3)}（桁不足）、0${digits(1)}0-${digits(3)}-${digits(4)}\n`);
    docs.push(b.done());
  }

  // CSVs with headers: employees, customers; and product lists (negatives).
  for (let i = 0; i < 8; i++) {
    const c = new CsvBuilder(`employees-${i}.csv`, ['社員番号', '氏名', 'マイナンバー', '携帯電話', 'メールアドレス', '郵便番号', '住所', '振込口座番号', '入社日']);
    for (let r = 0; r < 25; r++) {
      const [postal, addr] = pick(ADDRESSES);
      c.row([digits(6), name(), ['my_number', myNumber()], ['phone', mobile().replace(/-/g, rand() < 0.5 ? '-' : '')], ['email', email()], ['postal_code', postal], ['address', addr], ['bank_account', digits(7)], date()]);
    }
    docs.push(c.done());
  }
  for (let i = 0; i < 6; i++) {
    const c = new CsvBuilder(`customers-${i}.csv`, ['法人番号', '会社名', '代表電話', '担当者', '担当者メール']);
    for (let r = 0; r < 25; r++) c.row([['corporate_number', corporate()], `株式会社${pick(SURNAMES)}商事`, ['phone', fixed()], name(), ['email', email()]]);
    docs.push(c.done());
  }
  for (let i = 0; i < 6; i++) {
    const c = new CsvBuilder(`products-${i}.csv`, ['品番', 'JANコード', '商品名', '単価', '在庫', '発売日', '注文番号']);
    for (let r = 0; r < 30; r++) c.row([`P-${digits(6)}`, `49${digits(11)}`, `商品${r}`, `${Math.floor(rand() * 99999)}`, `${Math.floor(rand() * 999)}`, date(), `${digits(12)}`]);
    docs.push(c.done());
  }
  return docs;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2] ?? path.join(import.meta.dirname, 'generated');
  mkdirSync(dir, { recursive: true });
  const docs = generateCorpus();
  for (const d of docs) writeFileSync(path.join(dir, d.file), d.text);
  writeFileSync(path.join(dir, 'labels.json'), JSON.stringify(docs.flatMap((d) => d.labels), null, 1));
  process.stdout.write(`${docs.length} documents, ${docs.reduce((a, d) => a + d.labels.length, 0)} labels in ${dir}\n`);
}
