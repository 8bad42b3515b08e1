/**
 * The detector core: one forward pass over the raw UTF-8 bytes of a file (no decoding to a JS
 * string), driven by a 256-entry byte-class table. Most bytes cost one table lookup, a 3-byte
 * character one more (its first two bytes rule out all but the 64-character blocks of the
 * triggers); only ASCII digits, '@', line feeds, the CSV/TSV delimiter and quote, and the few
 * multi-byte triggers (full-width digits and '＠', the prefecture suffixes 都道府県, 市) start
 * work, and that work is bounded and never revisits what it consumed:
 *
 * - a digit starts a number token (digit groups joined by at most three separator characters,
 *   at most MAX_GROUPS groups); the token is split into space-separated segments and the longest
 *   combination of at most five consecutive segments that validates is taken, so "03-1234-5678
 *   090-1234-5678" gives two phones. The main loop resumes after the token.
 * - '@' looks back at most 64 characters (the local part, which cannot contain '@', so no
 *   character is looked back at twice) and forward at most 253 (the domain, which cannot either).
 * - a prefecture suffix looks back at most 3 characters for a prefecture name, then forward at most
 *   MUNICIPALITY_MAX + ADDRESS_REST characters; the main loop resumes after what it took.
 * - a validated candidate reads a context window (dlp.keywords.ts) of at most CTX_BACK + CTX_FWD
 *   characters; Japanese keywords are compared as byte sequences.
 *
 * Character counts (windows, limits) are in UTF-16 units as in the string scanner this replaced,
 * so the detectors' behaviour is unchanged; positions are byte offsets (dlp.report.ts turns them
 * into UTF-16 columns and lengths when a finding is materialised).
 *
 * There is no regular expression here. `scanStats.steps` counts every position examined by any of
 * these loops so the tests can show the work is linear in the input (dlp-linearity.test.ts).
 *
 * Validation is done only for candidates that already have the right shape (digit count, grouping,
 * boundaries), and findings go into typed arrays: no object or string is allocated per character,
 * per token or per finding until the report is built (dlp.report.ts), and then only for the
 * findings the report shows.
 */
import { cardIssuer, driversLicenseCheckLooksValid, isValidCorporateNumber, isValidMyNumber, luhnValid } from './dlp.checksums.ts';
import {
  CTX_ADDRESS, CTX_BANK, CTX_BANK_STRONG, CTX_CARD, CTX_CORP, CTX_LICENSE, CTX_MYNUM, CTX_NEG, CTX_PASSPORT, CTX_PHONE, CTX_POSTAL,
  KW_FIRST, keywordStats, maskOfRange, windowMask,
} from './dlp.keywords.ts';
import { backUnits, CHAR_LEN, cpAt, prevStart, units, utf8 } from './dlp.utf8.ts';

/** Kind codes: indexes into DLP_KINDS (packages/contracts/src/dlp.ts), same order. */
const enum Kind { MY_NUMBER, CORPORATE, PHONE, EMAIL, POSTAL, ADDRESS, CARD, BANK, PASSPORT, LICENSE, VAULT }
export const K_MY_NUMBER = Kind.MY_NUMBER;
export const K_CORPORATE = Kind.CORPORATE;
export const K_PHONE = Kind.PHONE;
export const K_EMAIL = Kind.EMAIL;
export const K_POSTAL = Kind.POSTAL;
export const K_ADDRESS = Kind.ADDRESS;
export const K_CARD = Kind.CARD;
export const K_BANK = Kind.BANK;
export const K_PASSPORT = Kind.PASSPORT;
export const K_LICENSE = Kind.LICENSE;
export const K_VAULT = Kind.VAULT;

// The constants of the hot paths are same-file const enums: the TypeScript transform (tsx,
// esbuild) writes their values in place, where a module-level `const` would be loaded from the
// module's context (and checked) at every use in the optimised code.

/** Separator kinds between the digit groups of a number. '.': only phone numbers are read through it (03.1234.5678), never other kinds. */
const enum Sep { SPACE = 1, HYPHEN = 2, PAREN = 4, DOT = 8 }

/**
 * Byte classes of the pass. CITY: 市, a designated city (政令指定都市) written without its
 * prefecture (大阪市北区梅田…). MB: the lead byte of a 3-byte character: its first two bytes (MB2)
 * rule out most of them, the code point decides the rest (CP_CLASS).
 */
const enum Cls { DIGIT = 1, AT = 2, PREF = 3, CITY = 4, NL = 5, DELIM = 6, QUOTE = 7, MB = 8 }

/** Address character bits (ADDR). */
const enum Addr { NAME = 1, MUNI = 2, GUN = 4, PARTICLE = 8 }

/** Code points: 市 and 区. */
const enum Cp { SHI = 0x5e02, KU = 0x533a }

/** What is right before a number (its left boundary). */
const enum Left { OK, FAIL, PASSPORT, T, PLUS }

const enum Lim {
  /** Slots per finding in FindingBuffer.data. */
  SLOTS = 7,
  MAX_GROUPS = 12,
  MAX_DIGITS = 48,
}
/** Characters of a municipality name (with its 市区町村郡) and of the rest of an address. */
const enum AddrLim { MUNICIPALITY_MAX = 12, REST = 40 }
/** Context window, in UTF-16 units (as the string scanner had it). */
const enum Win { BACK = 32, FWD = 12 }
/** Slots per finding in FindingBuffer.data. */
export const SLOTS = Lim.SLOTS;

/** The context bits of dlp.keywords.ts, as literals here (checked against them below). */
const enum Ctx {
  MYNUM = 1 << 0, CORP = 1 << 1, PHONE = 1 << 2, POSTAL = 1 << 3, BANK = 1 << 4, BANK_STRONG = 1 << 5, PASSPORT = 1 << 6,
  LICENSE = 1 << 7, CARD = 1 << 8, ADDRESS = 1 << 9, NEG = 1 << 10,
}
if (
  Ctx.MYNUM !== CTX_MYNUM || Ctx.CORP !== CTX_CORP || Ctx.PHONE !== CTX_PHONE || Ctx.POSTAL !== CTX_POSTAL || Ctx.BANK !== CTX_BANK ||
  Ctx.BANK_STRONG !== CTX_BANK_STRONG || Ctx.PASSPORT !== CTX_PASSPORT || Ctx.LICENSE !== CTX_LICENSE || Ctx.CARD !== CTX_CARD ||
  Ctx.ADDRESS !== CTX_ADDRESS || Ctx.NEG !== CTX_NEG
) {
  throw new Error('dlp.scanner.ts Ctx differs from dlp.keywords.ts');
}


/** Work counter for the linearity proof: characters examined by every loop of the scanner. */
export const scanStats = {
  steps: 0,
  reset(): void {
    this.steps = 0;
    keywordStats.steps = 0;
  },
  total(): number {
    return this.steps + keywordStats.steps;
  },
};

// ---------------------------------------------------------------------------------------------
// Character tables

/**
 * Digit value of an ASCII or full-width digit (a BMP code point); 255 for anything else. Two
 * comparisons, where a 65536-entry table would cost a cache line per distinct character.
 */
function digitValue(c: number): number {
  return c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0xff10 && c <= 0xff19 ? c - 0xff10 : 255;
}

/** Separators allowed between the digit groups of one number. */
const SEP = new Uint8Array(65536);
for (const c of [0x20, 0x3000]) SEP[c] = Sep.SPACE;
for (const c of [0x2d, 0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0x2015, 0x2212, 0x30fc, 0xff0d, 0xff70]) SEP[c] = Sep.HYPHEN;
for (const c of [0x28, 0x29, 0xff08, 0xff09]) SEP[c] = Sep.PAREN;
SEP[0x2e] = Sep.DOT;

/** [A-Za-z0-9_] and full-width alphanumerics: a number touching one of these is part of a code. */
const WORD = new Uint8Array(65536);
for (let c = 0x30; c <= 0x39; c++) WORD[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) WORD[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) WORD[c] = 1;
WORD[0x5f] = 1;
for (let c = 0xff10; c <= 0xff19; c++) WORD[c] = 1;
for (let c = 0xff21; c <= 0xff3a; c++) WORD[c] = 1;
for (let c = 0xff41; c <= 0xff5a; c++) WORD[c] = 1;

/** E-mail local part (RFC 5322 atext and '.') and domain label characters. */
const LOCAL = new Uint8Array(256);
const DOMAIN = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) LOCAL[c] = DOMAIN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) LOCAL[c] = DOMAIN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) LOCAL[c] = DOMAIN[c] = 1;
for (const ch of ".!#$%&'*+/=?^_`{|}~-") LOCAL[ch.charCodeAt(0)] = 1;
DOMAIN[0x2d] = 1;

/** File extensions that are no top-level domain: "name@2x.png" is a file, not a mailbox. */
function tldKey(t: Uint8Array, from: number, to: number): number {
  let h = 0;
  for (let q = from; q < to; q++) h = h * 32 + ((t[q]! | 0x20) - 0x60);
  return h;
}
const FILE_EXT = new Set<number>();
/** Length, first and last letter of a TLD (2–5 letters): 1 when a file extension has them (most TLDs are ruled out without the set). */
function extShape(t: Uint8Array, from: number, to: number): number {
  return ((to - from) << 10) | ((t[from]! & 0x1f) << 5) | (t[to - 1]! & 0x1f);
}
const FILE_EXT_SHAPE = new Uint8Array(6 << 10);
for (const ext of ['png', 'jpg', 'jpeg', 'gif', 'svg', 'webp', 'bmp', 'ico', 'tif', 'tiff', 'heic', 'avif', 'css', 'scss', 'sass', 'less', 'js', 'mjs', 'cjs', 'jsx', 'tsx', 'json', 'html', 'htm', 'xml', 'yml', 'yaml', 'toml', 'txt', 'csv', 'tsv', 'log', 'lock', 'map', 'ttf', 'otf', 'eot', 'pdf', 'doc', 'docx', 'xls', 'xlsx', 'ppt', 'pptx', 'git', 'exe', 'dll', 'tgz', 'jar', 'war', 'java', 'kt', 'rb', 'php', 'vue', 'psd', 'mp3', 'mp4', 'wav', 'webm']) {
  const b = utf8(ext);
  FILE_EXT.add(tldKey(b, 0, b.length));
  FILE_EXT_SHAPE[extShape(b, 0, b.length)] = 1;
}

/** Triggers outside ASCII, by code point: full-width digits and '＠', the prefecture suffixes 都道府県. */
const CP_CLASS = new Uint8Array(65536);
for (let d = 0; d < 10; d++) CP_CLASS[0xff10 + d] = Cls.DIGIT;
CP_CLASS[0xff20] = Cls.AT;
for (const ch of '都道府県') CP_CLASS[ch.charCodeAt(0)] = Cls.PREF;
CP_CLASS[0x5e02] = Cls.CITY;

/**
 * The first pass looks at bytes only: ASCII digits, '@', line feeds (and the delimiter and quote
 * of CSV/TSV) are their own class; the lead bytes of 3-byte characters are Cls.MB (the triggers
 * among them: full-width digits and '＠', 都道府県, 市); every other byte — the rest of ASCII, other
 * lead bytes, continuation bytes — is 0 and costs one lookup.
 */
function byteTable(): Uint8Array {
  const t = new Uint8Array(256);
  for (let d = 0; d < 10; d++) t[0x30 + d] = Cls.DIGIT;
  t[0x40] = Cls.AT;
  t[0x0a] = Cls.NL;
  for (let b = 0xe0; b < 0xf0; b++) t[b] = Cls.MB;
  return t;
}
/**
 * By the top 10 bits of a 3-byte character's code point (its first two bytes): 1 when a trigger
 * has them. Every 3-byte character is looked up here (no branch on its lead byte): kana and the
 * kanji outside the 64-character blocks of the triggers are skipped whole.
 */
const MB2 = new Uint8Array(1024);
for (let c = 0x800; c < 65536; c++) if (CP_CLASS[c] !== 0) MB2[c >> 6] = 1;
const TABLE_TEXT = byteTable();
const TABLE_CSV = byteTable();
TABLE_CSV[0x2c] = Cls.DELIM;
TABLE_CSV[0x22] = Cls.QUOTE;
const TABLE_TSV = byteTable();
TABLE_TSV[0x09] = Cls.DELIM;
TABLE_TSV[0x22] = Cls.QUOTE;


// ---------------------------------------------------------------------------------------------
// Prefectures and municipalities

const PREFECTURES = [
  '北海道', '青森県', '岩手県', '宮城県', '秋田県', '山形県', '福島県', '茨城県', '栃木県', '群馬県', '埼玉県', '千葉県', '東京都', '神奈川県',
  '新潟県', '富山県', '石川県', '福井県', '山梨県', '長野県', '岐阜県', '静岡県', '愛知県', '三重県', '滋賀県', '京都府', '大阪府', '兵庫県',
  '奈良県', '和歌山県', '鳥取県', '島根県', '岡山県', '広島県', '山口県', '徳島県', '香川県', '愛媛県', '高知県', '福岡県', '佐賀県', '長崎県',
  '熊本県', '大分県', '宮崎県', '鹿児島県', '沖縄県',
] as const;
/** Prefecture suffix characters (都道府県): 1 + index of the suffix in PREF_SUFFIXES. */
const PREF_SUFFIX = new Uint8Array(65536);
const PREF_SUFFIXES = '都道府県';
for (let k = 0; k < PREF_SUFFIXES.length; k++) PREF_SUFFIX[PREF_SUFFIXES.charCodeAt(k)] = k + 1;
/**
 * Prefectures by their last two characters (the suffix and the character before it, e.g. 奈川+県 →
 * 神奈川県): one typed-array lookup instead of comparing against the 43 names ending in 県.
 * PREF_TAIL[(suffix index) << 16 | character before] = 1 + index into PREF_LISTS (the UTF-8 bytes of
 * the names).
 */
const PREF_TAIL = new Uint8Array(PREF_SUFFIXES.length << 16);
const PREF_LISTS: Uint8Array[][] = [];
for (const p of PREFECTURES) {
  const key = ((PREF_SUFFIX[p.charCodeAt(p.length - 1)]! - 1) << 16) | p.charCodeAt(p.length - 2);
  if (PREF_TAIL[key] === 0) {
    PREF_LISTS.push([]);
    PREF_TAIL[key] = PREF_LISTS.length;
  }
  PREF_LISTS[PREF_TAIL[key]! - 1]!.push(utf8(p));
}

/** 政令指定都市, by the character before 市 (UTF-8 bytes of the names without 市). */
const DESIGNATED_CITIES = ['札幌', '仙台', 'さいたま', '千葉', '横浜', '川崎', '相模原', '新潟', '静岡', '浜松', '名古屋', '京都', '大阪', '堺', '神戸', '岡山', '広島', '北九州', '福岡', '熊本'];
/** CITY_LAST[character before 市] = 1 + index into CITY_LISTS. */
const CITY_LAST = new Uint8Array(65536);
const CITY_LISTS: Uint8Array[][] = [];
for (const c of DESIGNATED_CITIES) {
  const key = c.charCodeAt(c.length - 1);
  if (CITY_LAST[key] === 0) {
    CITY_LISTS.push([]);
    CITY_LAST[key] = CITY_LISTS.length;
  }
  CITY_LISTS[CITY_LAST[key]! - 1]!.push(utf8(c));
}

/** The designated city whose 市 starts at i, or -1 (its first byte). */
function cityStart(t: Uint8Array, lo: number, i: number): number {
  if (i - 3 < lo || (t[i - 3]! & 0xc0) === 0x80) return -1;
  const idx = CITY_LAST[cpAt(t, i - 3)]!;
  if (idx === 0) return -1;
  const list = CITY_LISTS[idx - 1]!;
  for (let k = 0; k < list.length; k++) {
    const p = list[k]!;
    const s = i - p.length;
    if (s < lo) continue;
    let ok = true;
    for (let q = 0; q < p.length - 3; q++) {
      if (t[s + q] !== p[q]) {
        ok = false;
        break;
      }
    }
    if (ok) return s;
  }
  return -1;
}

/**
 * Characters of addresses, one table (one lookup, one cache line per character): Addr.NAME for
 * municipality and town names (kanji, kana, 々, ヶ), Addr.MUNI for 市区町村, Addr.GUN for 郡, Addr.PARTICLE
 * for the particles that end an address (大阪市で…).
 */
const ADDR = new Uint8Array(65536);
for (let c = 0x4e00; c <= 0x9fff; c++) ADDR[c] = Addr.NAME;
for (let c = 0x3041; c <= 0x3096; c++) ADDR[c] = Addr.NAME;
for (let c = 0x30a1; c <= 0x30fa; c++) ADDR[c] = Addr.NAME;
for (const c of [0x3005, 0x30f5, 0x30f6, 0x30fc]) ADDR[c] = Addr.NAME;
for (const ch of '市区町村') ADDR[ch.charCodeAt(0)]! |= Addr.MUNI;
ADDR['郡'.charCodeAt(0)]! |= Addr.GUN;
for (const ch of 'でにをはがのへともや') ADDR[ch.charCodeAt(0)]! |= Addr.PARTICLE;

/** The prefecture whose suffix character starts at i (its first byte), or -1. Names are all 3-byte characters. */
function prefectureStart(t: Uint8Array, lo: number, i: number): number {
  if (i - 3 < lo) return -1;
  const suffix = PREF_SUFFIX[cpAt(t, i)]!;
  if (suffix === 0 || (t[i - 3]! & 0xc0) === 0x80) return -1;
  const idx = PREF_TAIL[((suffix - 1) << 16) | cpAt(t, i - 3)]!;
  if (idx === 0) return -1;
  const list = PREF_LISTS[idx - 1]!;
  const end = i + 3;
  for (let k = 0; k < list.length; k++) {
    const p = list[k]!;
    const s = end - p.length;
    if (s < lo) continue;
    let ok = true;
    for (let q = 0; q < p.length - 6; q++) {
      if (t[s + q] !== p[q]) {
        ok = false;
        break;
      }
    }
    if (ok) return s;
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Findings


/**
 * Findings as one Int32Array, seven slots each: kind, byte offset and byte length in the scanned
 * bytes, confidence (percent), line, column (CSV field or XLSX cell column; 0 in text, where it is
 * computed from the line's start when the finding is materialised), the line's byte offset. One
 * array to grow (by doubling), nothing allocated per finding. With `keep`, only the first `keep`
 * findings are stored; every one is still counted per kind (the summary mode of large scans).
 */
export class FindingBuffer {
  count = 0;
  data: Int32Array;
  /** Per kind, the findings at or above the threshold (stored or not). */
  readonly perKind = new Int32Array(11);
  /** Findings below this confidence (percent) are not kept. */
  readonly minConfidence: number;
  readonly keep: number;

  constructor(minConfidence: number, capacity = 1024, keep = Number.POSITIVE_INFINITY) {
    this.minConfidence = Math.round(minConfidence * 100);
    this.keep = keep;
    this.data = new Int32Array(Math.max(16, Math.min(capacity, keep)) * Lim.SLOTS);
  }

  /** Findings counted (stored or not). */
  get total(): number {
    let n = 0;
    for (let k = 0; k < this.perKind.length; k++) n += this.perKind[k]!;
    return n;
  }

  push(kind: number, start: number, length: number, confidence: number, line: number, column: number, lineStart: number): void {
    if (confidence < this.minConfidence) return;
    this.perKind[kind]!++;
    if (this.count >= this.keep) return;
    let d = this.data;
    const o = this.count * Lim.SLOTS;
    if (o === d.length) {
      const g = new Int32Array(d.length * 2);
      g.set(d);
      this.data = d = g;
    }
    d[o] = kind;
    d[o + 1] = start;
    d[o + 2] = length;
    d[o + 3] = confidence;
    d[o + 4] = line;
    d[o + 5] = column;
    d[o + 6] = lineStart;
    this.count++;
  }

  kind(k: number): number {
    return this.data[k * Lim.SLOTS]!;
  }
  start(k: number): number {
    return this.data[k * Lim.SLOTS + 1]!;
  }
  length(k: number): number {
    return this.data[k * Lim.SLOTS + 2]!;
  }
  confidence(k: number): number {
    return this.data[k * Lim.SLOTS + 3]!;
  }
  line(k: number): number {
    return this.data[k * Lim.SLOTS + 4]!;
  }
  /** The stored column (0 in text mode: see columnOf in dlp.report.ts). */
  column(k: number): number {
    return this.data[k * Lim.SLOTS + 5]!;
  }
  lineStart(k: number): number {
    return this.data[k * Lim.SLOTS + 6]!;
  }
}

/**
 * A value the vault matcher should look up (e-mails and phones found here; names and cells come
 * from dlp.candidates.ts): byte offsets, line, and the column in UTF-16 units (text) or the field.
 */
export type CandidateSink = (kind: 'email' | 'phone', start: number, end: number, line: number, column: number) => void;

// ---------------------------------------------------------------------------------------------
// Scan state (module-level scratch: scanning is synchronous and never re-entered)

const D = new Uint8Array(Lim.MAX_DIGITS);
const D_INTL = new Uint8Array(Lim.MAX_DIGITS);
const G_LEN = new Int32Array(Lim.MAX_GROUPS);
const G_START = new Int32Array(Lim.MAX_GROUPS);
const G_END = new Int32Array(Lim.MAX_GROUPS);
const G_DOFF = new Int32Array(Lim.MAX_GROUPS);
/** Separator kinds after group g (between g and g+1). */
const G_SEP = new Uint8Array(Lim.MAX_GROUPS);
const SEG_FIRST = new Int32Array(Lim.MAX_GROUPS + 1);

// ctx skips the window of a CSV value followed by CR LF: no keyword may begin with CR.
if (KW_FIRST[0x0d] !== 0) throw new Error('a context keyword begins with CR');


export type ScanMode = 'text' | 'csv' | 'tsv' | 'cell';

export type ScanInput = {
  mode: ScanMode;
  /** Location of the first character: line (text) or row (cell); column (cell). */
  line?: number;
  column?: number;
  /** Context that applies to the whole input (an XLSX cell's column header). */
  context?: number;
  /** CSV/TSV: keyword masks of the header row's columns (when scanning a chunk without it). */
  header?: number[];
  /** CSV/TSV: the first row of the input is the header (default true unless `header` is given). */
  firstRowIsHeader?: boolean;
  candidates?: CandidateSink | null;
};

class Scan {
  t: Uint8Array = new Uint8Array(0);
  out!: FindingBuffer;
  lo = 0;
  hi = 0;
  /** Context mask from outside the window: column header or cell header. */
  fixedCtx = 0;
  line = 1;
  lineStart = 0;
  column = 1;
  csv = false;
  cell = false;
  /** csv || cell: findings carry the column (field or cell). */
  tableCol = false;
  cands: CandidateSink | null = null;
  delim = 0;
  /** CSV: the current field (0-based) and the header row's keyword masks per field. */
  field = 0;
  headerMasks: number[] | null = null;

  fixed(): number {
    return this.csv && this.headerMasks !== null ? this.fixedCtx | (this.headerMasks[this.field] ?? 0) : this.fixedCtx;
  }

  emit(kind: number, start: number, end: number, conf: number): void {
    this.out.push(kind, start, end - start, Math.round(conf * 100), this.line, this.tableCol ? this.column : 0, this.lineStart);
  }

  /** The 1-based column of byte offset i, in UTF-16 units (text) or the field/cell (tables): for the vault's candidates. */
  loc(i: number): number {
    return this.cell || this.csv ? this.column : units(this.t, this.lineStart, i) + 1;
  }

  /**
   * Keywords around [start, end) plus the column's. The window stays on the candidate's line (and
   * cell), except that a candidate alone at the start of its line also sees the line before
   * ("マイナンバー：" on one line, the number on the next).
   */
  ctx(start: number, end: number): number {
    const t = this.t;
    const hiMax = this.hi;
    if (this.csv && start === this.lo) {
      // A value filling its cell (the common case) has no window at all, only the column's context
      // (as the general path below finds it; a CR before the line feed begins no keyword).
      const b = end < hiMax ? t[end]! : 0x0a;
      if (b === 0x0a || b === this.delim) {
        keywordStats.steps += Win.FWD;
        return this.fixed();
      }
      if (b === 0x0d && (end + 1 >= hiMax || t[end + 1] === 0x0a || t[end + 1] === this.delim)) {
        keywordStats.steps += Win.FWD + 1;
        return this.fixed();
      }
    }
    // Forward: Win.FWD units, not past the line or cell.
    let hi = end;
    for (let u = 0; hi < hiMax; ) {
      const b = t[hi]!;
      if (b === 0x0a || b === this.delim) break;
      const w = b >= 0xf0 ? 2 : 1;
      if (u + w > Win.FWD) break;
      u += w;
      hi += CHAR_LEN[b]!;
    }
    if (this.csv) {
      // The cell is the window (lo is its start).
      keywordStats.steps += Win.FWD;
      const lo = this.lo;
      const b0 = start - lo <= Win.BACK ? lo : backUnits(t, lo, start, Win.BACK);
      // A value filling its cell (the common case) has no window at all: only the column's context.
      if (b0 === start && hi === end) return this.fixed();
      return windowMask(t, lo, hi, b0, start, end) | this.fixed();
    }
    // Back: Win.BACK units, not before the line; a candidate alone at the start of its line also
    // sees the line before, within the same Win.BACK units.
    const lo0 = this.lo;
    let p = start;
    let u = 0;
    let onlySpace = true;
    let prev = 0;
    while (p > lo0) {
      const q = prevStart(t, p);
      const c = t[q]!;
      const w = c >= 0xf0 ? 2 : 1;
      if (u + w > Win.BACK) break;
      u += w;
      if (c === 0x0a) {
        if (onlySpace) {
          // The line before (its positive keywords only: 注文 there says nothing about this line).
          let r = q;
          while (r > lo0) {
            const r1 = prevStart(t, r);
            const w1 = t[r1]! >= 0xf0 ? 2 : 1;
            if (u + w1 > Win.BACK || t[r1] === 0x0a) break;
            u += w1;
            r = r1;
          }
          prev = maskOfRange(t, r, q) & ~Ctx.NEG;
        }
        break;
      }
      if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x28 && c !== 0x22 && !(c === 0xe3 && t[q + 1] === 0x80 && t[q + 2] === 0x80)) onlySpace = false;
      p = q;
    }
    scanStats.steps += Win.BACK + Win.FWD;
    return windowMask(t, p, hi, p, start, end) | prev | this.fixed();
  }

  // -------------------------------------------------------------------------------------------
  // Numbers

  /** Scans the number token whose first digit starts at byte i; returns the position after it. */
  number(i: number): number {
    const t = this.t;
    const lo = this.lo;
    const to = this.hi;
    const word = WORD;
    const sepOf = SEP;
    // Left boundary.
    let left = Left.OK;
    let prefixStart = i;
    if (i > lo) {
      const q1 = prevStart(t, i);
      const p = cpAt(t, q1);
      const q2 = q1 > lo ? prevStart(t, q1) : -1;
      if (word[p] !== 0) {
        left = Left.FAIL;
        if (p >= 0x41 && p <= 0x5a) {
          // Letters right before: exactly two upper-case (passport) or a lone 'T' (invoice number).
          const p2 = q2 >= lo ? cpAt(t, q2) : 0x20;
          const p3 = q2 > lo ? cpAt(t, prevStart(t, q2)) : 0x20;
          if (p2 >= 0x41 && p2 <= 0x5a && word[p3] === 0) {
            left = Left.PASSPORT;
            prefixStart = q2;
          } else if (p === 0x54 && word[p2] === 0) {
            left = Left.T;
            prefixStart = q1;
          }
        }
      } else if (p === 0x2e || p === 0x2f || p === 0x40 || p === 0xff0e || p === 0xff0f || p === 0xff20) {
        left = Left.FAIL; // decimals, dates, paths, e-mail domains
      } else if ((p === 0x2c || p === 0x3a) && q2 >= lo && digitValue(cpAt(t, q2)) !== 255) {
        left = Left.FAIL; // thousands "1,234", times "12:34"
      } else if (p === 0x2b || p === 0xff0b) {
        left = Left.PLUS;
        prefixStart = q1;
      } else if (sepOf[p] === Sep.HYPHEN && q2 >= lo && word[cpAt(t, q2)] !== 0) {
        left = Left.FAIL; // "AB-1234…": part of a code
      } else if (sepOf[p] === Sep.PAREN && (p === 0x28 || p === 0xff08)) {
        prefixStart = q1; // "(03) 1234-5678"
      }
    }

    // Digit groups. The scratch arrays are module constants: taken into locals once, so the loops
    // below read registers, not the module's context.
    const d = D;
    const gStart = G_START;
    const gEnd = G_END;
    const gLen = G_LEN;
    const gDoff = G_DOFF;
    const gSep = G_SEP;
    let nd = 0;
    let ng = 0;
    let j = i;
    // Separators seen between groups (OR of all): no Sep.SPACE means a single segment.
    let seps = 0;
    for (;;) {
      gStart[ng] = j;
      const doff = nd;
      gDoff[ng] = doff;
      while (j < to) {
        const b = t[j]!;
        if (b >= 0x30 && b <= 0x39) {
          if (nd < Lim.MAX_DIGITS) d[nd] = b - 0x30;
          j++;
        } else if (b === 0xef && t[j + 1] === 0xbc && t[j + 2]! >= 0x90 && t[j + 2]! <= 0x99) {
          if (nd < Lim.MAX_DIGITS) d[nd] = t[j + 2]! - 0x90;
          j += 3;
        } else break;
        nd++;
      }
      gLen[ng] = nd - doff;
      gEnd[ng] = j;
      gSep[ng] = 0;
      ng++;
      if (ng === Lim.MAX_GROUPS || j >= to) break;
      let k = j;
      let sep = 0;
      // The common separator, one ASCII hyphen between digits, without the general walk.
      if (t[k] === 0x2d && k + 1 < to && t[k + 1]! >= 0x30 && t[k + 1]! <= 0x39) {
        sep = Sep.HYPHEN;
        k++;
      } else {
        for (let n = 0; k < to && n < 3; n++) {
          const b = t[k]!;
          const s = b < 0x80 ? sepOf[b]! : sepOf[cpAt(t, k)]!;
          if (s === 0) break;
          sep |= s;
          k += CHAR_LEN[b]!;
        }
        if (k === j || k >= to || digitValue(cpAt(t, k)) === 255) break;
      }
      gSep[ng - 1] = sep;
      seps |= sep;
      j = k;
    }
    const end = j;
    scanStats.steps += end - i + 3;

    // Right boundary: not followed by a word character, '@', or '.'/'-' + word character.
    let right = true;
    if (end < to) {
      const c = cpAt(t, end);
      if (word[c] !== 0 || c === 0x40 || c === 0xff20) right = false;
      else if (c === 0x2e || sepOf[c] === Sep.HYPHEN || c === 0x2f) {
        const n1 = end + CHAR_LEN[t[end]!]!;
        if (n1 < to && word[cpAt(t, n1)] !== 0) right = false;
      }
    }
    if (nd > Lim.MAX_DIGITS) return end; // too long for any kind (a run of digits): consumed whole

    if ((seps & Sep.SPACE) === 0) {
      // One segment (no group joined by spaces alone): the loop below would try exactly this.
      scanStats.steps++;
      if (nd >= 6 && nd <= 19 && right) this.classify(0, ng, nd, left, prefixStart);
      return end;
    }

    // Segments: groups split where the separator is only spaces.
    const segFirst = SEG_FIRST;
    let ns = 0;
    for (let g = 0; g < ng; g++) {
      if (g === 0 || gSep[g - 1] === Sep.SPACE) segFirst[ns++] = g;
    }
    segFirst[ns] = ng;
    let s = 0;
    while (s < ns) {
      let taken = false;
      const eMax = Math.min(ns, s + 5);
      for (let e = eMax; e > s; e--) {
        const g0 = segFirst[s]!;
        const g1 = segFirst[e]!;
        const n = gDoff[g1 - 1]! + gLen[g1 - 1]! - gDoff[g0]!;
        scanStats.steps++;
        if (n < 6 || n > 19) continue;
        const l = s === 0 ? left : Left.OK;
        const r = e === ns ? right : true;
        if (!r) continue;
        if (this.classify(g0, g1, n, l, s === 0 ? prefixStart : gStart[g0]!)) {
          taken = true;
          s = e;
          break;
        }
      }
      if (!taken) s++;
    }
    return end;
  }

  /** Validates groups [g0, g1) (n digits) as each kind in turn; emits and returns true when one fits. */
  classify(g0: number, g1: number, n: number, left: number, prefixStart: number): boolean {
    const d = D;
    const gLen = G_LEN;
    if (left === Left.FAIL) return false;
    const d0 = G_DOFF[g0]!;
    const ngr = g1 - g0;
    const start = G_START[g0]!;
    const end = G_END[g1 - 1]!;
    let sepAll = 0;
    for (let g = g0; g < g1 - 1; g++) sepAll |= G_SEP[g]!;
    scanStats.steps += n;

    if (left === Left.PASSPORT) {
      if (n !== 7 || ngr !== 1) return false;
      const ctx = this.ctx(prefixStart, end);
      this.emit(Kind.PASSPORT, prefixStart, end, ctx & Ctx.PASSPORT ? 0.95 : ctx & Ctx.NEG ? 0.1 : 0.3);
      return true;
    }
    if (left === Left.T) {
      if (n !== 13 || !isValidCorporateNumber(d, d0)) return false;
      const ctx = this.ctx(prefixStart, end);
      this.emit(Kind.CORPORATE, prefixStart, end, ctx & Ctx.CORP ? 0.97 : 0.85);
      return true;
    }
    if (left === Left.PLUS) {
      // +81 …: the national number is 0 followed by the digits after 81.
      if (d[d0] !== 8 || d[d0 + 1] !== 1) return false;
      return this.phone(d0 + 2, n - 2, g0, g1, sepAll, prefixStart, end, true);
    }

    if (sepAll & Sep.DOT) return (n === 10 || n === 11) && d[d0] === 0 && this.phone(d0, n, g0, g1, sepAll, prefixStart, end, false);

    switch (n) {
      case 7: {
        const ctx = this.ctx(start, end);
        if (ngr === 2 && gLen[g0] === 3 && sepAll === Sep.HYPHEN) {
          if (d[d0] === 0 && d[d0 + 1] === 0 && d[d0 + 2] === 0) return false;
          let conf = 0.6;
          if (ctx & Ctx.POSTAL) conf = 0.97;
          else if (ctx & (Ctx.ADDRESS) || this.addressFollows(end)) conf = 0.9;
          else if (ctx & Ctx.NEG || ctx & Ctx.BANK_STRONG) conf = 0.2;
          this.emit(Kind.POSTAL, start, end, conf);
          return true;
        }
        if (ngr === 1) {
          if (ctx & Ctx.POSTAL) {
            this.emit(Kind.POSTAL, start, end, 0.9);
            return true;
          }
          // 振込 names a bank, but 振込金額 1234567円 is an amount: without 普通/当座/口座番号, a
          // negative word (円, 金額…) wins.
          if (ctx & Ctx.BANK && (ctx & Ctx.BANK_STRONG || !(ctx & Ctx.NEG))) {
            this.emit(Kind.BANK, start, end, ctx & Ctx.BANK_STRONG ? 0.95 : 0.8);
            return true;
          }
        }
        return false;
      }
      case 6:
      case 8: {
        if (ngr !== 1) return false;
        const ctx = this.ctx(start, end);
        if (ctx & Ctx.BANK_STRONG && !(ctx & Ctx.NEG)) {
          this.emit(Kind.BANK, start, end, 0.85);
          return true;
        }
        return false;
      }
      case 10:
      case 11:
        if (d[d0] === 0 && this.phone(d0, n, g0, g1, sepAll, prefixStart, end, false)) return true;
        return false;
      case 12: {
        const ctx = this.ctx(start, end);
        const canonical = ngr === 1 || (ngr === 3 && gLen[g0] === 4 && gLen[g0 + 1] === 4);
        if (!canonical) return false;
        if (ctx & Ctx.LICENSE) {
          const plausible = d[d0]! >= 1; // commission codes are 10–97
          const conf = (plausible ? 0.93 : 0.8) + (driversLicenseCheckLooksValid(d, d0) ? 0.04 : 0);
          this.emit(Kind.LICENSE, start, end, conf);
          return true;
        }
        if (!isValidMyNumber(d, d0)) return false;
        let conf = ctx & Ctx.MYNUM ? 0.97 : ngr === 3 ? 0.45 : 0.3;
        if (ctx & Ctx.NEG && !(ctx & Ctx.MYNUM)) conf = 0.1;
        this.emit(Kind.MY_NUMBER, start, end, conf);
        return true;
      }
      case 13: {
        const ctx = this.ctx(start, end);
        if (ngr === 2 && gLen[g0] === 5 && sepAll === Sep.HYPHEN && ctx & Ctx.BANK) {
          // ゆうちょ銀行: 記号 (5) – 番号 (8)
          this.emit(Kind.BANK, start, end, 0.9);
          return true;
        }
        if (ctx & Ctx.CARD && !(ctx & Ctx.CORP) && this.card(d0, 13, ngr, g0, start, end, ctx)) return true;
        const canonical = ngr === 1 || (ngr === 4 && gLen[g0] === 1);
        if (!canonical || !isValidCorporateNumber(d, d0)) return false;
        let conf = ctx & Ctx.CORP ? 0.97 : 0.45;
        if (ctx & Ctx.NEG && !(ctx & Ctx.CORP)) conf = 0.1;
        this.emit(Kind.CORPORATE, start, end, conf);
        return true;
      }
      case 14: {
        if (ngr === 3 && gLen[g0] === 4 && gLen[g0 + 1] === 3 && sepAll === Sep.HYPHEN) {
          // bank code (4) – branch (3) – account (7)
          const ctx = this.ctx(start, end);
          this.emit(Kind.BANK, start, end, ctx & Ctx.BANK ? 0.95 : ctx & Ctx.NEG ? 0.2 : 0.6);
          return true;
        }
        return this.card(d0, n, ngr, g0, start, end, -1);
      }
      default:
        return this.card(d0, n, ngr, g0, start, end, -1);
    }
  }

  /** Credit card: Luhn, then issuer range and length, then grouping and context. */
  card(d0: number, n: number, ngr: number, g0: number, start: number, end: number, ctxIn: number): boolean {
    const d = D;
    const gLen = G_LEN;
    if (n < 13 || !luhnValid(d, d0, n) || cardIssuer(d, d0, n) === null) return false;
    const ctx = ctxIn >= 0 ? ctxIn : this.ctx(start, end);
    if (n === 13 && !(ctx & Ctx.CARD)) return false; // 13-digit Visa is gone; JAN codes are not
    let grouped = ngr === 1;
    if (ngr === 4 && n === 16) grouped = gLen[g0] === 4 && gLen[g0 + 1] === 4 && gLen[g0 + 2] === 4;
    else if (ngr === 3 && (n === 15 || n === 14)) grouped = gLen[g0] === 4 && gLen[g0 + 1] === 6;
    else if (ngr === 5 && n === 19) grouped = gLen[g0] === 4;
    else if (ngr !== 1) grouped = false;
    if (!grouped) return false;
    let conf = ctx & Ctx.CARD ? 0.97 : ngr > 1 ? 0.85 : 0.6;
    if (ctx & Ctx.NEG && !(ctx & Ctx.CARD)) conf = 0.2;
    this.emit(Kind.CARD, start, end, conf);
    return true;
  }

  /**
   * Japanese numbering plan: 070/080/090 mobile, 050 IP, 020 M2M and 0800 free dial (11 digits);
   * 0120 free dial, 0570 navi dial, 0990 and fixed lines (10 digits; no 0X0 prefix other than
   * those). Grouped numbers must group like a phone number (area 2–5 digits with the 0, subscriber
   * 3–4 digits). Confidence from the grouping, the kind of number and the context.
   */
  phone(dn: number, n: number, g0: number, g1: number, sepAll: number, start: number, end: number, intl: boolean): boolean {
    const d = D;
    const gLen = G_LEN;
    // With +81 the trunk 0 is absent: prepend it in a scratch copy.
    let dd: Uint8Array = d;
    let b = dn;
    if (intl) {
      D_INTL[0] = 0;
      for (let k = 0; k < n && k < Lim.MAX_DIGITS - 1; k++) D_INTL[k + 1] = d[dn + k]!;
      dd = D_INTL;
      b = 0;
    }
    const N = intl ? n + 1 : n;
    if (N !== 10 && N !== 11) return false;
    if (dd[b] !== 0 || dd[b + 1] === 0) return false;
    const a1 = dd[b + 1]!, a2 = dd[b + 2]!, a3 = dd[b + 3]!;
    let special = false;
    if (N === 11) {
      const ok = (a2 === 0 && (a1 === 7 || a1 === 8 || a1 === 9 || a1 === 5 || a1 === 2 || a1 === 6)) || (a1 === 8 && a2 === 0 && a3 === 0);
      if (!ok) return false;
      special = true;
    } else {
      if (a1 === 1 && a2 === 2 && a3 === 0) special = true; // 0120
      else if ((a1 === 5 && a2 === 7 && a3 === 0) || (a1 === 9 && a2 === 9 && a3 === 0)) special = true; // 0570, 0990
      else if (a2 === 0) return false; // 0X0 with 10 digits is not a number, nor a local exchange starting with 0
    }
    let ngr = g1 - g0;
    let firstLen = gLen[g0]!;
    if (intl) {
      // "+81-3-1234-5678": the first group is 81 alone; "+813…": 81 and the area code share it.
      if (firstLen === 2) {
        ngr--;
        firstLen = gLen[g0 + 1]! + 1;
      } else firstLen = firstLen - 2 + 1;
    }
    let grouped = false;
    if (ngr > 1) {
      if (ngr > 3) return false;
      const last = gLen[g1 - 1]!;
      if (firstLen < 2 || firstLen > 5) return false;
      if (last < 3 || last > 4) return false;
      if (last === 3 && !special) return false;
      grouped = true;
    }
    const ctx = this.ctx(start, end);
    let conf: number;
    if (special) conf = grouped ? 0.9 : 0.75;
    else conf = grouped ? (sepAll & (Sep.HYPHEN | Sep.PAREN) ? 0.85 : 0.6) : 0.45;
    if (intl) conf = Math.max(conf, 0.85);
    if (ctx & Ctx.PHONE) conf = Math.max(conf, 0.95);
    else if (ctx & Ctx.NEG) conf -= 0.4;
    else if (ctx & (Ctx.MYNUM | Ctx.CORP | Ctx.CARD | Ctx.BANK | Ctx.POSTAL | Ctx.LICENSE | Ctx.PASSPORT)) conf -= 0.2;
    this.emit(Kind.PHONE, start, end, conf);
    if (this.cands && conf >= 0.5) this.cands('phone', start, end, this.line, this.loc(start));
    return true;
  }


  /** An address (prefecture) begins within 8 characters after i. */
  addressFollows(i: number): boolean {
    const t = this.t;
    const hi = this.hi;
    let p = i;
    for (let u = 0; p < hi; ) {
      const b = t[p]!;
      const w = b >= 0xf0 ? 2 : 1;
      if (u + w > 8) break;
      if (b >= 0xe0 && PREF_SUFFIX[cpAt(t, p)] !== 0 && prefectureStart(t, i, p) >= 0) return true;
      u += w;
      p += CHAR_LEN[b]!;
    }
    scanStats.steps += p - i;
    return false;
  }

  // -------------------------------------------------------------------------------------------
  // E-mail

  /** '@' (or '＠') at a; returns the position to resume at. */
  email(a: number): number {
    const t = this.t;
    const local = LOCAL;
    const domain = DOMAIN;
    const atLen = t[a] === 0x40 ? 1 : 3;
    // The local part is ASCII: walking back over it, bytes are characters.
    const lim = Math.max(this.lo, a - 64);
    let k = a - 1;
    while (k >= lim) {
      if (local[t[k]!] === 0) break;
      k--;
    }
    scanStats.steps += a - k;
    if (k >= this.lo && k < lim) return a + atLen; // local part longer than 64
    if (k >= lim && local[t[k]!] !== 0) return a + atLen;
    let ls = k + 1;
    while (ls < a && t[ls] === 0x2e) ls++;
    if (ls === a || t[a - 1] === 0x2e) return a + atLen;
    // Domain: labels of [A-Za-z0-9-] joined by single dots; at least two labels; TLD letters only.
    const d0 = a + atLen;
    const hi = Math.min(this.hi, d0 + 253);
    let p = d0;
    let labelStart = p;
    let lastDot = -1;
    while (p < hi) {
      const c = t[p]!;
      if (domain[c] !== 0) p++;
      else if (c === 0x2e && p > labelStart && p + 1 < hi && domain[t[p + 1]!] !== 0) {
        lastDot = p;
        labelStart = ++p;
      } else break;
    }
    scanStats.steps += p - a;
    if (lastDot < 0) return p;
    let tldLetters = true;
    for (let q = lastDot + 1; q < p; q++) {
      const c = t[q]! | 0x20;
      if (c < 0x61 || c > 0x7a) {
        tldLetters = false;
        break;
      }
    }
    if (!tldLetters || p - lastDot - 1 < 2) return p;
    if (t[d0] === 0x2d || t[p - 1] === 0x2d) return p;
    // Not mail, though shaped like it: a file name with a density suffix (logo@2x.png: no such
    // TLD), an scp/git remote (git@github.com:org/repo.git), credentials in a URL
    // (https://user:token@host/…).
    if (p - lastDot - 1 <= 5 && FILE_EXT_SHAPE[extShape(t, lastDot + 1, p)] !== 0 && FILE_EXT.has(tldKey(t, lastDot + 1, p))) return p;
    if (p + 1 < hi && t[p] === 0x3a && (t[p + 1] === 0x2f || t[p + 1] === 0x7e || ((t[p + 1]! | 0x20) >= 0x61 && (t[p + 1]! | 0x20) <= 0x7a))) return p;
    if (this.urlUserinfo(ls)) return p;
    this.emit(Kind.EMAIL, ls, p, 0.95);
    if (this.cands) this.cands('email', ls, p, this.line, this.loc(ls));
    return p;
  }

  /**
   * The local part starting at ls is the userinfo of a URL: "//" right before it, or
   * "//user:" before it (at most 64 characters back): scheme://user:password@host.
   */
  urlUserinfo(ls: number): boolean {
    const t = this.t;
    const lo = this.lo;
    if (t[ls] === 0x2f && t[ls + 1] === 0x2f) return true; // '/' is atext: "//user" was taken as the local part
    if (ls - 2 >= lo && t[ls - 1] === 0x2f && t[ls - 2] === 0x2f) return true;
    if (ls - 1 < lo || t[ls - 1] !== 0x3a) return false;
    let k = ls - 2;
    const lim = Math.max(lo, ls - 66);
    while (k >= lim && LOCAL[t[k]!] !== 0 && t[k] !== 0x2f) k--;
    scanStats.steps += ls - k;
    return k - 1 >= lo && t[k] === 0x2f && t[k - 1] === 0x2f;
  }

  // -------------------------------------------------------------------------------------------
  // Addresses

  /** A prefecture suffix at i; returns the position to resume at. */
  address(i: number): number {
    const t = this.t;
    const ps = prefectureStart(t, this.lo, i);
    scanStats.steps += 4;
    if (ps < 0) return i + 3;
    const to = this.hi;
    let m = i + 3;
    if (m < to && (t[m] === 0x20 || (t[m] === 0xe3 && t[m + 1] === 0x80 && t[m + 2] === 0x80))) m += CHAR_LEN[t[m]!]!;
    const addr = ADDR;
    // Municipality: 1+ name characters then 市/区/町/村, or …郡…町/村 (within AddrLim.MUNICIPALITY_MAX
    // characters; name characters are all 3 bytes, one UTF-16 unit each).
    let muniEnd = -1;
    let muniLast = 0;
    let p = m;
    for (let n = 0; p < to && n < AddrLim.MUNICIPALITY_MAX; n++) {
      const c = cpAt(t, p);
      const a = addr[c]!;
      if ((a & Addr.NAME) === 0) break;
      if (p > m && (a & Addr.MUNI) !== 0) {
        muniEnd = p + 3;
        muniLast = c;
        break;
      }
      if (p > m && (a & Addr.GUN) !== 0) {
        // 郡: the town or village follows (from the second character after 郡, within 8 of it).
        let q = p + 3;
        if (q < to) q += CHAR_LEN[t[q]!]!;
        for (let k = 2; q < to && k < 8; k++) {
          const cq = cpAt(t, q);
          const aq = addr[cq]!;
          if ((aq & Addr.NAME) === 0) break;
          if ((aq & Addr.MUNI) !== 0) {
            muniEnd = q + 3;
            muniLast = cq;
            break;
          }
          q += 3;
        }
        break;
      }
      p += 3;
    }
    scanStats.steps += p - i + 8;
    if (muniEnd < 0) return i + 3;
    return this.addressRest(ps, muniEnd, muniLast, false, i + 3);
  }

  /** 市 at i: a designated city without its prefecture, taken only with its ward (大阪市北区…). */
  city(i: number): number {
    const cs = cityStart(this.t, this.lo, i);
    scanStats.steps += 4;
    if (cs < 0) return i + 3;
    return this.addressRest(cs, i + 3, Cp.SHI, true, i + 3);
  }

  /**
   * An address from ps whose municipality ends at muniEnd (its last character muniLast): the ward
   * of a designated city (required with `needWard`), then the town and block numbers; emits it and
   * returns the position to resume at (`fail` when nothing is emitted).
   */
  addressRest(ps: number, muniEnd: number, muniLast: number, needWard: boolean, fail: number): number {
    const t = this.t;
    const addr = ADDR;
    const to = this.hi;
    // 政令指定都市: …市…区 (from the second character after 市, within 5 of it)
    let ward = false;
    if (muniLast === Cp.SHI && muniEnd < to) {
      let q = muniEnd + CHAR_LEN[t[muniEnd]!]!;
      for (let k = 1; q < to && k < 5; k++) {
        const cq = cpAt(t, q);
        if ((addr[cq]! & Addr.NAME) === 0) break;
        if (cq === Cp.KU) {
          muniEnd = q + 3;
          ward = true;
          break;
        }
        q += 3;
      }
      scanStats.steps += 5;
    }
    if (needWard && !ward) return fail;
    // The rest: town, chōme, block numbers (at most AddrLim.REST characters); stops at spaces,
    // punctuation and a number starting with 0 (a phone). Hiragana right after the municipality
    // is a particle (大阪市で…), not a town name. Every character taken is one UTF-16 unit.
    let e = muniEnd;
    const particle = e < to && (addr[cpAt(t, e)]! & Addr.PARTICLE) !== 0;
    let digits = 0;
    let prevDigit = false;
    let n = 0;
    while (e < to && n < AddrLim.REST && !particle) {
      const b = t[e]!;
      let v = 255;
      let c = b;
      if (b >= 0x30 && b <= 0x39) v = b - 0x30;
      else if (b >= 0x80) {
        c = cpAt(t, e);
        v = digitValue(c);
      }
      const w = CHAR_LEN[b]!;
      if (v !== 255) {
        if (!prevDigit && v === 0) break;
        digits++;
        prevDigit = true;
      } else if ((addr[c]! & Addr.NAME) !== 0) {
        prevDigit = false;
      } else if (SEP[c] === Sep.HYPHEN && n + 1 < AddrLim.REST && e + w < to && digitValue(cpAt(t, e + w)) !== 255) {
        prevDigit = false;
      } else break;
      e += w;
      n++;
    }
    scanStats.steps += e - muniEnd;
    const ctx = this.ctx(ps, e);
    let conf = n >= 2 ? (digits > 0 ? 0.85 : 0.7) : 0.4;
    if (ctx & (Ctx.ADDRESS | Ctx.POSTAL)) conf = Math.max(conf, 0.95);
    this.emit(Kind.ADDRESS, ps, e, conf);
    return e;
  }

  // -------------------------------------------------------------------------------------------
  // The pass

  run(table: Uint8Array, from: number, to: number, header: number[] | null, headerRow: boolean): void {
    const t = this.t;
    const mb2 = MB2;
    const cpClass = CP_CLASS;
    this.hi = to;
    this.lo = from;
    scanStats.steps += to - from;
    const csv = this.csv;
    let inQuotes = false;
    let field = 0;
    let cellStart = from;
    // CSV/TSV: the header row's cells are collected on line 1 and become the column contexts at
    // its end; after line 2 begins nothing is collected any more (lines only increase).
    let collectHeader = csv && headerRow;
    const headerCells: number[] = [];
    this.headerMasks = header;
    for (let i = from; i < to; i++) {
      let b = t[i]!;
      let cls = table[b]!;
      // Bytes of no interest (most ASCII, continuation bytes) and whole 3-byte characters that
      // are no trigger (their first two bytes say so), in a tight loop.
      while (cls === 0 || (cls === Cls.MB && mb2[((b & 0x0f) << 6) | (t[i + 1]! & 0x3f)] === 0)) {
        i += cls === 0 ? 1 : 3;
        if (i >= to) break;
        b = t[i]!;
        cls = table[b]!;
      }
      if (i >= to) break;
      if (cls === Cls.MB) {
        cls = cpClass[cpAt(t, i)]!;
        if (cls === 0) {
          i += 2;
          continue;
        }
      }
      // The delimiter first: the commonest stop in a table.
      if (cls === Cls.DELIM) {
        if (inQuotes) continue;
        if (collectHeader && this.line === 1) headerCells.push(cellStart, i);
        field++;
        cellStart = i + 1;
        continue;
      }
      if (cls <= Cls.CITY) {
        if (csv) {
          this.lo = cellStart;
          this.field = field;
          this.column = field + 1;
        }
        i = (cls === Cls.DIGIT ? this.number(i) : cls === Cls.AT ? this.email(i) : cls === Cls.PREF ? this.address(i) : this.city(i)) - 1;
        continue;
      }
      if (cls === Cls.NL) {
        if (inQuotes) continue;
        this.line++;
        this.lineStart = i + 1;
        if (csv) {
          if (collectHeader && this.line >= 2) {
            if (this.line === 2) {
              headerCells.push(cellStart, i);
              this.headerMasks = this.headerMasksOf(headerCells);
            }
            collectHeader = false;
          }
          field = 0;
          cellStart = i + 1;
        }
      } else if (inQuotes) {
        // Cls.QUOTE inside a quoted field: "" is an escaped quote, a lone quote closes the field.
        if (i + 1 < to && t[i + 1] === 0x22) i++;
        else inQuotes = false;
      } else if (i === cellStart) inQuotes = true; // RFC 4180: a quote opens a field only at its start
    }
  }

  headerMasksOf(cells: number[]): number[] {
    const masks: number[] = [];
    for (let k = 0; k < cells.length; k += 2) masks.push(maskOfRange(this.t, cells[k]!, cells[k + 1]!));
    return masks;
  }
}

const scan = new Scan();

/**
 * Scans the UTF-8 bytes t[from, to) into out (offsets in `out` are byte offsets into t). `text`
 * mode tracks lines; `csv`/`tsv` track the record (line) and field (column) and use the header
 * row's keywords as each column's context; `cell` reports every finding at the given line/column
 * (an XLSX cell).
 */
export function scanBytes(t: Uint8Array, input: ScanInput, out: FindingBuffer, from = 0, to = t.length): void {
  // A plain Uint8Array view (not a Buffer subclass): the element reads of the pass stay monomorphic.
  scan.t = t.constructor === Uint8Array ? t : new Uint8Array(t.buffer, t.byteOffset, t.byteLength);
  scan.out = out;
  scan.line = input.line ?? 1;
  scan.lineStart = from;
  scan.column = input.column ?? 1;
  scan.csv = input.mode === 'csv' || input.mode === 'tsv';
  scan.cell = input.mode === 'cell';
  scan.tableCol = scan.csv || scan.cell;
  scan.delim = input.mode === 'tsv' ? 0x09 : input.mode === 'csv' ? 0x2c : -1;
  scan.fixedCtx = input.context ?? 0;
  scan.cands = input.candidates ?? null;
  const table = input.mode === 'csv' ? TABLE_CSV : input.mode === 'tsv' ? TABLE_TSV : TABLE_TEXT;
  try {
    scan.run(table, from, to, input.header ?? null, input.header ? false : input.firstRowIsHeader !== false);
  } finally {
    scan.t = EMPTY;
    scan.cands = null;
  }
}
const EMPTY = new Uint8Array(0);

/** scanBytes of a string's UTF-8 bytes (tests, benches); returns the bytes the offsets refer to. */
export function scanString(text: string, input: ScanInput, out: FindingBuffer): Uint8Array {
  const t = utf8(text);
  scanBytes(t, input, out);
  return t;
}
