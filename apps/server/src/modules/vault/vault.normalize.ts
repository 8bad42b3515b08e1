/**
 * Normalization before blind indexing: the index only finds exact matches, so every spelling a
 * person might type for the same value must collapse to one string. Each function is idempotent
 * (normalizing a normalized value changes nothing), which the tests check on arbitrary input.
 */

export type SearchKind = 'text' | 'name' | 'kana' | 'phone' | 'email' | 'postal_code' | 'number';

// JS \s includes U+3000 ideographic space and other Unicode spaces, all in the BMP: without the u flag
// it matches the same characters (it never matches half of a surrogate pair), and runs faster.
const WS_RUN = /\s+/g;

/**
 * NFKC folds full-width ASCII to half-width and half-width katakana to full-width. NFKC runs
 * again after any edit because removing a space or changing case can bring a combining mark next
 * to a new base character, which NFKC would then compose: without the second pass the function
 * would not be idempotent.
 */
function nfkc(s: string): string {
  return s.normalize('NFKC');
}

/**
 * NFKC of `edited`, an edit of `before`, which is already in NFKC: an edit that changed nothing needs
 * no second pass. Imports normalise tens of values a row, most of them already without whitespace,
 * upper case or hiragana, and each NFKC pass is a call into ICU.
 */
function renormalized(before: string, edited: string): string {
  return edited === before ? edited : nfkc(edited);
}

function stripWhitespace(s: string): string {
  return nfkc(s.replace(WS_RUN, ''));
}

/** stripWhitespace of a string already in NFKC. */
function stripWhitespaceNfkc(s: string): string {
  return renormalized(s, s.replace(WS_RUN, ''));
}

/** Hiragana U+3041–U+3096 and the iteration marks ゝゞ sit exactly 0x60 below their katakana. */
function hiraganaToKatakana(s: string): string {
  return s.replace(/[\u3041-\u3096\u309D\u309E]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0x60));
}

function digitsOnly(s: string): string {
  return s.replace(/[^0-9]/g, '');
}

/**
 * Japanese numbers in international form: +81 drops the trunk 0, so "+81 3-…" is "03-…". Only a
 * non-zero digit after 81 is rewritten: domestic numbers always start with 0, so "81" followed by
 * 1–9 can only be the country code.
 */
function normalizePhone(s: string): string {
  const d = digitsOnly(s);
  return /^81[1-9]/.test(d) ? '0' + d.slice(2) : d;
}

export function normalizeForIndex(kind: SearchKind, value: string): string {
  return normalizeTrimmedForIndex(kind, nfkc(value).trim());
}

/**
 * normalizeForIndex of a value given as `value.normalize('NFKC').trim()`, the form validation has
 * already computed (validateValue): the bulk import shares that one NFKC pass between validating a
 * value and deriving its search term. Same result by construction.
 */
export function normalizeTrimmedForIndex(kind: SearchKind, trimmed: string): string {
  // `trimmed` is in NFKC (trimming an NFKC string leaves it in NFKC), so every step below that
  // changes nothing skips its NFKC pass.
  const v = renormalized(trimmed, trimmed.replace(WS_RUN, ' '));
  switch (kind) {
    case 'text':
      return v;
    case 'name':
      return stripWhitespaceNfkc(v);
    case 'kana': {
      const s = stripWhitespaceNfkc(v);
      return renormalized(s, hiraganaToKatakana(s));
    }
    case 'phone':
      return normalizePhone(v);
    case 'email':
      return lowerCaseToFixedPoint(v);
    case 'postal_code':
    case 'number':
      return digitsOnly(v);
  }
}

/**
 * Lower-casing can yield characters NFKC rewrites (and NFKC can yield upper case, e.g. from
 * compatibility letters), so alternate until stable. Real addresses settle in one round; the
 * bound only guards against pathological input.
 */
function lowerCaseToFixedPoint(s: string): string {
  let cur = s;
  for (let i = 0; i < 4; i++) {
    const next = renormalized(cur, cur.toLowerCase());
    if (next === cur) return cur;
    cur = next;
  }
  return cur;
}

/** For prefix search on public (unencrypted) fields: NFKC, no whitespace, ASCII lower case. */
export function normalizePrefix(value: string): string {
  const s = stripWhitespace(value);
  const lower = s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
  return lower === s ? stripWhitespaceNfkc(s) : stripWhitespace(lower);
}
