// The labelled DLP evaluation corpus, generated deterministically (seeded PRNG): realistic Japanese
// business mails and notes, employee and customer CSVs, product and order lists; with hard
// negatives — dates, times, prices, order and tracking numbers, JAN codes, product codes, numbers
// that fail their check digits (also next to the right keyword), phone-like numbers outside the
// numbering plan. Every personal value is recorded as a label {file, kind, line, column, length}
// at the moment it is written, so labels cannot drift from the text.
//
// Those documents were written alongside the detectors. A second set was added later and not tuned
// on (hardneg-*, hardpos-*, hard-contacts-*, sjis-*, *.xlsx): hard negatives the detectors never
// saw — transaction, contract and receipt numbers half of which carry valid check digits, JAN/EAN-13
// barcodes, ISBNs, dates in 和暦 and full width, amounts in 円, part numbers shaped like postal
// codes, extensions and placeholders, e-mail-like strings in code and URLs — and positives in harder
// forms: full-width digits, spaces, a keyword on the line before, addresses broken over two lines
// (also inside a quoted CSV cell), Shift_JIS CSV and XLSX scored from their bytes. The fixes its
// first run called for went into the detectors; hardpos2-* came after them and is scored as it is.
//
// `node --import tsx bench/dlp-corpus/corpus.ts [dir]` writes the documents and labels.json to dir
// (default bench/dlp-corpus/generated, not committed); `npm run bench -- dlp-quality` scores the
// scanner on it.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { corporateNumberCheckDigit, digitsOf, luhnValid, myNumberCheckDigit } from '../../apps/server/src/modules/dlp/dlp.checksums.ts';

export type Label = { file: string; kind: string; line: number; column: number; length: number };
/**
 * A labelled document. `table`: labels are by row (line) and cell column, as the scanner reports
 * CSV and XLSX findings. `bytes`: the file as stored when it is not the UTF-8 of `text` (Shift_JIS,
 * XLSX).
 */
export type Doc = { file: string; text: string; labels: Label[]; table?: boolean; bytes?: Uint8Array };

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
    const cell = (c: string): string => (/[",\r\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c);
    return { file: this.file, text: this.rows.map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n', labels: this.labels, table: true };
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
  let rand = mulberry32(seed);
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

  // ---------------------------------------------------------------------------------------------
  // Harder documents, added after the detectors were written and not tuned on (their own PRNG, so
  // the documents above stay as they were): hard negatives of kinds the detectors never saw and
  // positives in harder forms. Numbers with check-digit-like structure are generated as real
  // systems make them: half of them carry a valid Luhn / My Number / 法人番号 check digit.
  rand = mulberry32(seed ^ 0x5bd1e995);
  const fw = (s: string): string => s.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d))).replace(/-/g, '－').replace(/,/g, '，').replace(/\./g, '．');
  const luhnMaybe = (n: number): string => {
    const b = digits(n - 1);
    if (rand() < 0.5) return b + digits(1);
    for (let c = 0; c < 10; c++) if (luhnValid(digitsOf(b + c), 0, n)) return b + c;
    return b + '0';
  };
  const ean13 = (prefix: string): string => {
    const b = prefix + digits(12 - prefix.length);
    let sum = 0;
    for (let k = 0; k < 12; k++) sum += Number(b[k]) * (k % 2 === 0 ? 1 : 3);
    return b + ((10 - (sum % 10)) % 10);
  };
  const isbn13 = (): string => {
    const b = `9784${digits(8)}`;
    let sum = 0;
    for (let k = 0; k < 12; k++) sum += Number(b[k]) * (k % 2 === 0 ? 1 : 3);
    const c = (10 - (sum % 10)) % 10;
    return `${b.slice(0, 3)}-${b[3]}-${b.slice(4, 7)}-${b.slice(7, 12)}-${c}`;
  };
  const wareki = (): string => pick([
    `令和${1 + Math.floor(rand() * 7)}年${1 + Math.floor(rand() * 12)}月${1 + Math.floor(rand() * 28)}日`,
    fw(`令和${1 + Math.floor(rand() * 7)}年${1 + Math.floor(rand() * 12)}月${1 + Math.floor(rand() * 28)}日`),
    `平成${10 + Math.floor(rand() * 21)}年${1 + Math.floor(rand() * 12)}月${1 + Math.floor(rand() * 28)}日`,
    `R${1 + Math.floor(rand() * 7)}.${1 + Math.floor(rand() * 12)}.${1 + Math.floor(rand() * 28)}`,
    fw(`${2000 + Math.floor(rand() * 25)}年${1 + Math.floor(rand() * 12)}月${1 + Math.floor(rand() * 28)}日`),
    fw(date()),
    `${2000 + Math.floor(rand() * 25)}/${1 + Math.floor(rand() * 12)}/${1 + Math.floor(rand() * 28)} ${Math.floor(rand() * 24)}:${digits(2)}`,
  ]);
  const amount = (): string => pick([
    `合計 ${fw(`${Math.floor(rand() * 900 + 100)},${digits(3)}`)}円`,
    `金 ${Math.floor(rand() * 9000000 + 1000000)} 円也`,
    `振込金額 ${Math.floor(rand() * 9000000 + 1000000)}円`,
    `¥${Math.floor(rand() * 90 + 10)},${digits(3)},${digits(3)}-`,
    `ご請求額：${fw(`${Math.floor(rand() * 9 + 1)},${digits(3)}`)}円（税込）`,
    `単価 ${Math.floor(rand() * 90000 + 10000)}円 × ${Math.floor(rand() * 20 + 1)}`,
  ]);
  const partNo = (): string => pick([`部品コード ${digits(3)}-${digits(4)}`, `型式 KX-${digits(3)}-${digits(4)}`, `Part No. ${digits(3)}-${digits(4)}`, `図番 ${digits(3)}-${digits(4)}-${digits(2)}`, `棚番 ${digits(2)}-${digits(3)}`]);
  const extension = (): string => pick([`内線 ${digits(4)}`, `（内線${digits(3)}）`, `内線番号 ${digits(2)}-${digits(4)}`, `受付時間 9:00～17:30`, `電話番号は 03-XXXX-XXXX の形式で入力`, `ext. ${digits(3)}`, `FAX 03-${ex(4)}-${digits(3)}（誤記）`, `090-XXXX-${digits(4)}`]);
  const mailLike = (): string => pick([
    `git clone git@github.com:example/${pick(ROMAJI)}-app.git`,
    `<img src="logo@2x.png" srcset="logo@3x.png 3x">`,
    `"@types/node": "^20.${Math.floor(rand() * 20)}.0"`,
    `https://deploy:${digits(6)}abc@git.example.com/app.git`,
    `@media (max-width: 600px) { .a { color: red } }`,
    `npm i left-pad@1.3.0 && npm i @scope/pkg@2.0.1`,
    `docker pull node@sha256:${digits(8)}ab${digits(8)}`,
  ]);
  const idLine = (): string => pick([
    `取引ID ${luhnMaybe(16)}`,
    `お客様番号 ${rand() < 0.5 ? myNumber() : digits(12)}`,
    `契約番号 ${rand() < 0.5 ? corporate() : digits(13)}`,
    `申込番号 ${digits(rand() < 0.5 ? 10 : 11)}`,
    `レシート番号 ${luhnMaybe(rand() < 0.5 ? 14 : 15)}`,
    `会計番号 ${digits(4)}-${digits(4)}-${digits(4)}`,
    `バーコード ${ean13(pick(['49', '45']))}`,
    `JAN：${ean13('49')}`,
    `ISBN${isbn13()}`,
    `ISBN 4-${digits(2)}-${digits(6)}-X`,
  ]);
  for (let i = 0; i < 40; i++) {
    const b = new Builder(`hardneg-${String(i).padStart(3, '0')}.txt`);
    b.add(`${pick(['発注メモ', '作業ログ', '会議メモ', '経費精算', '開発メモ'])}（${wareki()}）\n`);
    for (let k = 0; k < 8; k++) b.add(`${pick([idLine, amount, partNo, extension, mailLike, wareki, idLine])()}\n`);
    b.add(`${pick(SURNAMES)}\n`);
    docs.push(b.done());
  }

  const spaced = (p: string): string => p.replace(/-/g, ' ');
  for (let i = 0; i < 40; i++) {
    const b = new Builder(`hardpos-${String(i).padStart(3, '0')}.txt`);
    const [postal, addr] = pick(ADDRESSES);
    b.add(`${name()} 様\n${wareki()}付けの書類について。\n`);
    switch (i % 8) {
      case 0:
        b.add('マイナンバー：').pii('my_number', fw(myNumber())).add('\n');
        b.add('個人番号\n').pii('my_number', myNumber()).add('\n');
        break;
      case 1:
        b.add('携帯：').pii('phone', fw(mobile())).add('、自宅 ').pii('phone', spaced(mobile())).add('\n');
        b.add('TEL ').pii('phone', `(03) ${ex(4)}-${digits(4)}`).add(' / ').pii('phone', `+81-90-${ex(4)}-${digits(4)}`).add('\n');
        break;
      case 2: {
        // An address broken over two lines: the first line holds what the detector can see.
        const cut = addr.search(/[市区町村](?=[^市区町村]*$)/) + 1 || 6;
        b.add('〒').pii('postal_code', fw(postal)).add('\n送付先：').pii('address', addr.slice(0, cut)).add(`\n${addr.slice(cut)} ${pick(['ビル3F', 'マンション101', ''])}\n`);
        break;
      }
      case 3:
        b.add('住所 ').pii('address', addr.replace(/^(.{2,3}?[都道府県])/, '$1 ')).add('\n');
        b.add('郵便番号 ').pii('postal_code', postal.replace('-', '')).add('\n');
        break;
      case 4:
        b.add('ご連絡は <').pii('email', `${pick(ROMAJI)}.${pick(ROMAJI)}@${pick(DOMAINS)}`.toUpperCase()).add('> まで。\n');
        b.add('メール：').pii('email', `${pick(ROMAJI)}＠${pick(DOMAINS)}`).add('\n');
        break;
      case 5: {
        const n = card(pick(['4', '52', '3530']));
        b.add('カード番号 ').pii('credit_card', n.replace(/(\d{4})(?=\d)/g, '$1 ')).add('\n');
        break;
      }
      case 6:
        b.add(`${pick(BANKS)} ${pick(BRANCHES)} 普通預金 `).pii('bank_account', digits(7)).add('\n');
        b.add('口座番号：').pii('bank_account', fw(digits(7))).add('\n');
        break;
      case 7:
        b.add('住所：').pii('address', fw(addr)).add('\n');
        b.add('個人番号 ').pii('my_number', `${fw(myNumber()).replace(/^(.{4})(.{4})/, '$1 $2 ')}`).add('\n');
        break;
    }
    b.add(`${pick([idLine, amount, extension, mailLike])()}\nよろしくお願いします。\n`);
    docs.push(b.done());
  }

  // Positive forms written after the fixes above, scored as they came out (not tuned on either):
  // dotted phone numbers, full-width brackets, hyphenated My Numbers, kanji block numbers, 郡 with
  // a katakana town, a city without its prefecture, sub-addressed e-mails, American Express.
  const dotted = (p: string): string => p.replace(/-/g, '.');
  const kanjiNum = (n: number): string => '〇一二三四五六七八九'[n] ?? String(n);
  for (let i = 0; i < 24; i++) {
    const b = new Builder(`hardpos2-${String(i).padStart(3, '0')}.txt`);
    b.add(`${name()} 様\n`);
    switch (i % 8) {
      case 0:
        b.add('TEL ').pii('phone', dotted(fixed().replace(/[()]/g, '').replace(/^(\d+)(\d{4}-)/, '$1-$2'))).add(' / 携帯 ').pii('phone', dotted(mobile())).add('\n');
        break;
      case 1:
        b.add('電話：').pii('phone', `（０３）${fw(`${ex(4)}-${digits(4)}`)}`).add('\n');
        break;
      case 2: {
        const n = myNumber();
        b.add('個人番号：').pii('my_number', `${n.slice(0, 4)}-${n.slice(4, 8)}-${n.slice(8)}`).add('\n');
        break;
      }
      case 3:
        b.add('住所：').pii('address', `東京都千代田区丸の内${kanjiNum(1 + Math.floor(rand() * 3))}丁目${1 + Math.floor(rand() * 9)}番${1 + Math.floor(rand() * 9)}号`).add('\n');
        break;
      case 4:
        b.add('送付先 ').pii('address', `北海道虻田郡ニセコ町字${pick(['本通', '中央通', '富士見'])}${1 + Math.floor(rand() * 200)}`).add('\n');
        break;
      case 5:
        b.add('住所：').pii('address', `${pick(['横浜市西区みなとみらい', '大阪市北区梅田', '名古屋市中区栄', '札幌市中央区北5条西'])}${1 + Math.floor(rand() * 9)}-${1 + Math.floor(rand() * 9)}-${1 + Math.floor(rand() * 9)}`).add('\n');
        break;
      case 6:
        b.add('連絡先：').pii('email', `${pick(ROMAJI)}+dlp-${digits(4)}@mail.${pick(DOMAINS)}`).add('\n');
        break;
      case 7: {
        let n: string;
        for (;;) {
          n = `37${digits(12)}`;
          let ok = false;
          for (let c = 0; c < 10; c++) if (luhnValid(digitsOf(n + c), 0, 15)) {
            n += c;
            ok = true;
            break;
          }
          if (ok) break;
        }
        b.add('AMEX ').pii('credit_card', `${n.slice(0, 4)} ${n.slice(4, 10)} ${n.slice(10)}`).add('\n');
        break;
      }
    }
    b.add('よろしくお願いします。\n');
    docs.push(b.done());
  }

  // Tables in harder forms: full-width digits, addresses with a line break inside a quoted cell.
  for (let i = 0; i < 4; i++) {
    const c = new CsvBuilder(`hard-contacts-${i}.csv`, ['氏名', '電話番号', '住所', 'メールアドレス', '備考']);
    for (let r = 0; r < 25; r++) {
      const [, addr] = pick(ADDRESSES);
      const cut = addr.search(/[市区町村](?=[^市区町村]*$)/) + 1 || 6;
      c.row([name(), ['phone', rand() < 0.5 ? fw(fixed()) : spaced(mobile())], ['address', rand() < 0.5 ? `${addr.slice(0, cut)}\n${addr.slice(cut)}` : fw(addr)], ['email', email()], pick([idLine, amount, wareki])()]);
    }
    docs.push(c.done());
  }
  return docs;
}

/**
 * The documents stored in other forms, scored from their bytes: employee lists as Shift_JIS CSV
 * (what Excel on Japanese Windows writes) and customer lists as XLSX.
 */
export async function generateEncodedCorpus(seed = 20261127): Promise<Doc[]> {
  const iconv = (await import('iconv-lite')).default;
  const { default: ExcelJS } = await import('exceljs');
  const docs: Doc[] = [];
  const base = generateCorpus(seed).filter((d) => d.file.startsWith('employees-') || d.file.startsWith('customers-'));
  for (const d of base.filter((x) => x.file.startsWith('employees-')).slice(0, 3)) {
    const file = `sjis-${d.file}`;
    docs.push({ ...d, file, labels: d.labels.map((l) => ({ ...l, file })), bytes: new Uint8Array(iconv.encode(d.text, 'Shift_JIS')) });
  }
  for (const d of base.filter((x) => x.file.startsWith('customers-')).slice(0, 3)) {
    const file = d.file.replace(/\.csv$/, '.xlsx');
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('顧客');
    for (const line of d.text.trimEnd().split('\r\n')) ws.addRow(line.split(','));
    docs.push({ ...d, file, labels: d.labels.map((l) => ({ ...l, file })), bytes: new Uint8Array(await wb.xlsx.writeBuffer()) });
  }
  return docs;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2] ?? path.join(import.meta.dirname, 'generated');
  mkdirSync(dir, { recursive: true });
  const docs = [...generateCorpus(), ...(await generateEncodedCorpus())];
  for (const d of docs) writeFileSync(path.join(dir, d.file), d.bytes ?? d.text);
  writeFileSync(path.join(dir, 'labels.json'), JSON.stringify(docs.flatMap((d) => d.labels), null, 1));
  process.stdout.write(`${docs.length} documents, ${docs.reduce((a, d) => a + d.labels.length, 0)} labels in ${dir}\n`);
}
