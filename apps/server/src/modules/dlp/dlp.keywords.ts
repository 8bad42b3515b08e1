/**
 * Context keywords: words near a candidate (or in its CSV/XLSX column header) that say what a
 * number is — or what it is not (注文番号, 品番, ¥…). A keyword is recognised by a table lookup on
 * its first character followed by a bounded comparison, never by a regular expression, so the
 * cost of a window is (window length) × (keywords sharing a first character), a constant.
 */
import { CHAR_LEN, cpAt, utf8 } from './dlp.utf8.ts';

export const CTX_MYNUM = 1 << 0;
export const CTX_CORP = 1 << 1;
export const CTX_PHONE = 1 << 2;
export const CTX_POSTAL = 1 << 3;
export const CTX_BANK = 1 << 4;
/** 普通・当座・口座番号: the account type or label, the strongest bank-account signal. */
export const CTX_BANK_STRONG = 1 << 5;
export const CTX_PASSPORT = 1 << 6;
export const CTX_LICENSE = 1 << 7;
export const CTX_CARD = 1 << 8;
export const CTX_ADDRESS = 1 << 9;
/** Words that make a bare number something else: order, invoice, product, price. */
export const CTX_NEG = 1 << 10;
export const CTX_EMAIL = 1 << 11;
export const CTX_NAME = 1 << 12;
export const CTX_KANA = 1 << 13;

const KEYWORDS: [number, string[]][] = [
  [CTX_MYNUM, ['マイナンバー', '個人番号', 'ﾏｲﾅﾝﾊﾞｰ', 'mynumber', 'my_number', 'my number', 'my-number', 'individual number', 'individual_number', 'individualnumber']],
  [CTX_CORP, ['法人番号', '会社法人等番号', '登録番号', 'corporate number', 'corporate_number', 'corporatenumber', 'corporate no', 'houjin', 'hojin']],
  [CTX_PHONE, ['電話', '携帯', 'ケータイ', '連絡先', '直通', '代表番号', 'ファックス', 'ファクス', 'ＴＥＬ', 'ＦＡＸ', 'tel', 'fax', 'phone', 'telephone', 'mobile', 'cell']],
  [CTX_POSTAL, ['〒', '郵便番号', '郵便', '〶', 'postal', 'postcode', 'post code', 'zip', 'zipcode']],
  [CTX_ADDRESS, ['住所', '所在地', '住まい', '送付先', '届け先', 'address']],
  [CTX_BANK, ['口座', '銀行', '支店', '預金', '振込', '振り込み', '信用金庫', '信金', 'ゆうちょ', '記号', '店番', 'bank', 'branch', 'account']],
  [CTX_BANK | CTX_BANK_STRONG, ['普通', '当座', '貯蓄', '口座番号', '口座no', 'account number', 'account_number', 'account no']],
  [CTX_PASSPORT, ['旅券', 'パスポート', 'passport']],
  [CTX_LICENSE, ['免許', '運転免許', 'license', 'licence', "driver's", 'driver']],
  [CTX_CARD, ['カード', 'クレジット', '有効期限', 'card', 'credit', 'visa', 'mastercard', 'amex', 'jcb', 'diners']],
  [CTX_NEG, ['注文', '受注', '発注', '伝票', '請求', '品番', '型番', '商品', '製品', '管理番号', '問合せ', '問い合わせ', '受付番号', '会員番号', '予約番号', '追跡', '整理番号', '社員番号', '従業員番号', 'シリアル', 'ロット', '金額', '価格', '税込', '円', '¥', '￥', 'jan', 'order', 'invoice', 'sku', 'item', 'product', 'serial', 'lot', 'tracking', 'price', 'amount', 'isbn',
    // Part and model numbers (NNN-NNNN looks like a postal code).
    '部品', '型式', '図番', '品目', '棚番', 'part no', 'model']],
  [CTX_EMAIL, ['メール', 'mail', 'e-mail', 'email']],
  [CTX_NAME, ['氏名', '名前', '担当者', '宛名', 'name']],
  [CTX_KANA, ['カナ', 'フリガナ', 'ふりがな', 'kana']],
];

type Entry = { kw: Uint8Array; mask: number; ascii: boolean };

/** Non-zero for characters (BMP code points) that may begin a keyword (both cases for ASCII): 1 + index into LISTS by the lower-cased character. */
export const KW_FIRST = new Uint8Array(65536);
const LISTS: Entry[][] = [];

for (const [mask, words] of KEYWORDS) {
  for (const w of words) {
    const ascii = w.charCodeAt(0) < 0x80;
    const kw = ascii ? w.toLowerCase() : w;
    const first = kw.charCodeAt(0);
    if (KW_FIRST[first] === 0) {
      LISTS.push([]);
      KW_FIRST[first] = LISTS.length;
      if (ascii) KW_FIRST[kw.toUpperCase().charCodeAt(0)] = LISTS.length;
    }
    LISTS[KW_FIRST[first]! - 1]!.push({ kw: utf8(kw), mask, ascii });
  }
}
// Longer keywords first, so "telephone" is tried before "tel" (the mask is OR-ed anyway).
for (const list of LISTS) list.sort((a, b) => b.kw.length - a.kw.length);

function isAsciiLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** Case-insensitive match of an ASCII keyword at p, with a word boundary on its left and no lower-case letter right after it. */
function asciiAt(t: Uint8Array, p: number, kw: Uint8Array, lo: number, hi: number): boolean {
  if (p + kw.length > hi) return false;
  if (p > lo && isAsciiLetter(t[p - 1]!)) return false;
  for (let k = 0; k < kw.length; k++) {
    let c = t[p + k]!;
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== kw[k]) return false;
  }
  const after = p + kw.length < hi ? t[p + kw.length]! : 0;
  return !(after >= 0x61 && after <= 0x7a);
}

function bytesAt(t: Uint8Array, p: number, kw: Uint8Array, hi: number): boolean {
  if (p + kw.length > hi) return false;
  for (let k = 0; k < kw.length; k++) if (t[p + k] !== kw[k]) return false;
  return true;
}

/** The keyword masks that start at p, a character start (0 if none). */
export function keywordAt(t: Uint8Array, p: number, lo: number, hi: number): number {
  const idx = KW_FIRST[cpAt(t, p)]!;
  if (idx === 0) return 0;
  const list = LISTS[idx - 1]!;
  let mask = 0;
  for (let k = 0; k < list.length; k++) {
    const e = list[k]!;
    if (e.ascii ? asciiAt(t, p, e.kw, lo, hi) : bytesAt(t, p, e.kw, hi)) mask |= e.mask;
  }
  return mask;
}

/** Counts positions examined by context windows (see dlp.scanner.ts scanStats). */
export const keywordStats = { steps: 0 };

/** Every keyword mask beginning in [from, to) (character starts). */
function maskIn(t: Uint8Array, lo: number, hi: number, from: number, to: number): number {
  let mask = 0;
  for (let p = from; p < to; ) {
    const b = t[p]!;
    if (b < 0x80) {
      if (KW_FIRST[b] !== 0) mask |= keywordAt(t, p, lo, hi);
      p++;
    } else {
      if (b >= 0xc0 && KW_FIRST[cpAt(t, p)] !== 0) mask |= keywordAt(t, p, lo, hi);
      p += CHAR_LEN[b]!;
    }
  }
  return mask;
}

/**
 * The masks of keywords beginning in [b0, start) or [end, hi) — a context window whose limits the
 * scanner found (dlp.scanner.ts ctx). `lo` and `hi` bound the keywords themselves; one may run past
 * the back window's end (it was seen beginning in it).
 */
export function windowMask(t: Uint8Array, lo: number, hi: number, b0: number, start: number, end: number): number {
  keywordStats.steps += start - b0 + Math.max(0, hi - end);
  return maskIn(t, lo, hi, b0, start) | (hi > end ? maskIn(t, lo, hi, end, hi) : 0);
}

/** Every keyword mask in [from, to): used for column headers and JSON keys. */
export function maskOfRange(t: Uint8Array, from: number, to: number): number {
  keywordStats.steps += Math.max(0, to - from);
  return maskIn(t, from, to, from, to);
}

export function maskOf(text: string): number {
  const t = utf8(text);
  return maskOfRange(t, 0, t.length);
}
