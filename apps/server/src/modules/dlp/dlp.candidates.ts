/**
 * Candidates for the exact data match (vault_match), gathered only when a vault matcher is given:
 * e-mails and phones come from the detectors; names from runs of kanji (every substring of 2–6
 * characters, a single space inside allowed: "山田 太郎", "担当山田太郎様"), readings from runs
 * of kana; in tables every cell is a candidate of any kind. Linear: each character starts at most
 * five substrings, each at most 7 characters long.
 */
import type { VaultCandidateKind } from './dlp.types.ts';

export type CandidateOccurrence = { kind: VaultCandidateKind; value: string; file: string; line: number; column: number; length: number };

function isKanji(c: number): boolean {
  return (c >= 0x4e00 && c <= 0x9fff) || c === 0x3005 || c === 0x3006 || (c >= 0xf900 && c <= 0xfaff);
}
function isKana(c: number): boolean {
  return (c >= 0x3041 && c <= 0x3096) || (c >= 0x30a1 && c <= 0x30fa) || c === 0x30fc || (c >= 0xff66 && c <= 0xff9f);
}
function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x3000;
}

export const candidateStats = { steps: 0 };

/**
 * Calls push(kind, start, end) for name-like substrings of text[from, to). A substring may contain
 * one space (it is removed by the vault's name normalisation).
 */
export function nameCandidates(text: string, from: number, to: number, push: (kind: 'name' | 'kana', start: number, end: number) => void): void {
  let i = from;
  while (i < to) {
    const c = text.charCodeAt(i);
    if (isKanji(c)) {
      // Run of kanji with at most one single space inside.
      const s = i;
      let spaces = 0;
      let e = i;
      while (e < to) {
        const ce = text.charCodeAt(e);
        if (isKanji(ce)) e++;
        else if (isSpace(ce) && spaces === 0 && e + 1 < to && isKanji(text.charCodeAt(e + 1)) && e > s) {
          spaces++;
          e++;
        } else break;
      }
      for (let a = s; a < e; a++) {
        if (isSpace(text.charCodeAt(a))) continue;
        let len = 0;
        for (let b = a; b < e && len < 6; b++) {
          if (isSpace(text.charCodeAt(b))) continue;
          len++;
          if (len >= 2) push('name', a, b + 1);
        }
      }
      // A given name in kana after the family name in kanji (鈴木 さくら, 鈴木さくら).
      let k0 = e;
      if (k0 + 1 < to && isSpace(text.charCodeAt(k0)) && spaces === 0 && isKana(text.charCodeAt(k0 + 1))) k0++;
      let k1 = k0;
      while (k1 < to && k1 - k0 < 5 && isKana(text.charCodeAt(k1))) k1++;
      if (k1 > k0) {
        for (let a = Math.max(s, e - 4); a < e; a++) {
          if (isSpace(text.charCodeAt(a))) continue;
          for (let b = k0 + 1; b <= k1; b++) push('name', a, b);
        }
      }
      candidateStats.steps += (e - s) * 7 + 25;
      i = e;
    } else if (isKana(c)) {
      const s = i;
      let spaces = 0;
      let e = i;
      while (e < to && e - s < 24) {
        const ce = text.charCodeAt(e);
        if (isKana(ce)) e++;
        else if (isSpace(ce) && spaces === 0 && e + 1 < to && isKana(text.charCodeAt(e + 1)) && e > s) {
          spaces++;
          e++;
        } else break;
      }
      if (e - s >= 3) push('kana', s, e);
      candidateStats.steps += e - s;
      i = e;
    } else i++;
  }
  candidateStats.steps += to - from;
}
