/**
 * XLSX (Office Open XML spreadsheets) as rows of cell strings. The parts are read through the
 * scanner's bomb-safe ZIP reader (the caller's `read`), not exceljs, which inflates every part of
 * an archive up front without limits. The XML is walked with indexOf from a moving position and no
 * regular expression, so each part is read in one linear pass: shared strings (without the
 * phonetic runs <rPh>), sheet names and their parts from the workbook and its relationships, then
 * each sheet's cells (shared strings, inline strings, numbers and formula results).
 */

export type XlsxSheet = { name: string; rows: { row: number; cells: { col: number; value: string }[] }[] };

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function xmlUnescape(s: string): string {
  if (s.indexOf('&') < 0) return s;
  let out = '';
  let i = 0;
  for (;;) {
    const a = s.indexOf('&', i);
    if (a < 0) return out + s.slice(i);
    const semi = s.indexOf(';', a);
    if (semi < 0 || semi - a > 10) {
      out += s.slice(i, a + 1);
      i = a + 1;
      continue;
    }
    const ent = s.slice(a + 1, semi);
    let rep: string | undefined = ENTITIES[ent];
    if (rep === undefined && ent.startsWith('#')) {
      const cp = ent[1] === 'x' || ent[1] === 'X' ? parseInt(ent.slice(2), 16) : parseInt(ent.slice(1), 10);
      if (Number.isFinite(cp) && cp >= 0 && cp <= 0x10ffff) rep = String.fromCodePoint(cp);
    }
    out += s.slice(i, a) + (rep ?? s.slice(a, semi + 1));
    i = semi + 1;
  }
}

/** The value of attribute `name` in a start tag's text, or null. */
function attr(tag: string, name: string): string | null {
  let from = 0;
  for (;;) {
    const k = tag.indexOf(name + '="', from);
    if (k < 0) return null;
    const prev = k > 0 ? tag.charCodeAt(k - 1) : 0x20;
    if (prev === 0x20 || prev === 0x09 || prev === 0x0a || prev === 0x0d) {
      const e = tag.indexOf('"', k + name.length + 2);
      return e < 0 ? null : xmlUnescape(tag.slice(k + name.length + 2, e));
    }
    from = k + name.length;
  }
}

/**
 * Calls cb(startTagText, innerText or null for self-closing) for each element `name` in xml.
 * Element names are matched exactly ("<c " / "<c>" / "<c/>", not "<col").
 */
function eachElement(xml: string, name: string, cb: (tag: string, inner: string | null) => void): void {
  const open = '<' + name;
  const close = '</' + name + '>';
  let i = 0;
  for (;;) {
    const s = xml.indexOf(open, i);
    if (s < 0) return;
    const after = xml.charCodeAt(s + open.length);
    if (after !== 0x20 && after !== 0x3e && after !== 0x2f && after !== 0x09 && after !== 0x0a && after !== 0x0d) {
      i = s + open.length;
      continue;
    }
    const gt = xml.indexOf('>', s);
    if (gt < 0) return;
    const tag = xml.slice(s, gt + 1);
    if (xml.charCodeAt(gt - 1) === 0x2f) {
      cb(tag, null);
      i = gt + 1;
      continue;
    }
    const c = xml.indexOf(close, gt);
    if (c < 0) return;
    cb(tag, xml.slice(gt + 1, c));
    i = c + close.length;
  }
}

/** Concatenated <t> texts of a string item, leaving out phonetic guides (<rPh>…</rPh>). */
function textOf(inner: string): string {
  let s = inner;
  if (s.indexOf('<rPh') >= 0) {
    let out = '';
    let i = 0;
    for (;;) {
      const a = s.indexOf('<rPh', i);
      if (a < 0) {
        out += s.slice(i);
        break;
      }
      out += s.slice(i, a);
      const b = s.indexOf('</rPh>', a);
      if (b < 0) break;
      i = b + 6;
    }
    s = out;
  }
  let out = '';
  eachElement(s, 't', (_tag, t) => {
    if (t !== null) out += xmlUnescape(t);
  });
  return out;
}

/** "BC12" → column 55 (1-based). */
export function columnOf(ref: string): number {
  let col = 0;
  for (let i = 0; i < ref.length; i++) {
    const c = ref.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) col = col * 26 + (c - 0x40);
    else break;
  }
  return col;
}

export function readXlsx(read: (path: string) => string | null): XlsxSheet[] {
  const shared: string[] = [];
  const sst = read('xl/sharedStrings.xml');
  if (sst) eachElement(sst, 'si', (_tag, inner) => shared.push(inner === null ? '' : textOf(inner)));

  // Sheets: workbook order and names, parts through the relationships.
  const workbook = read('xl/workbook.xml');
  if (workbook === null) throw new Error('not an XLSX workbook (xl/workbook.xml missing)');
  const rels = new Map<string, string>();
  const relsXml = read('xl/_rels/workbook.xml.rels');
  if (relsXml) {
    eachElement(relsXml, 'Relationship', (tag) => {
      const id = attr(tag, 'Id');
      const target = attr(tag, 'Target');
      if (id && target) rels.set(id, target.startsWith('/') ? target.slice(1) : `xl/${target}`);
    });
  }
  const sheets: XlsxSheet[] = [];
  let index = 0;
  eachElement(workbook, 'sheet', (tag) => {
    index++;
    const name = attr(tag, 'name') ?? `Sheet${index}`;
    const rid = attr(tag, 'r:id');
    const part = (rid && rels.get(rid)) || `xl/worksheets/sheet${index}.xml`;
    const xml = read(part);
    if (xml === null) return;
    const rows: XlsxSheet['rows'] = [];
    let rowNo = 0;
    eachElement(xml, 'row', (rowTag, rowInner) => {
      rowNo = Number(attr(rowTag, 'r') ?? rowNo + 1);
      if (rowInner === null) return;
      const cells: { col: number; value: string }[] = [];
      let colNo = 0;
      eachElement(rowInner, 'c', (cTag, cInner) => {
        const ref = attr(cTag, 'r');
        colNo = ref ? columnOf(ref) : colNo + 1;
        if (cInner === null) return;
        const t = attr(cTag, 't');
        let value: string;
        if (t === 'inlineStr') value = textOf(cInner);
        else {
          let v: string | null = null;
          eachElement(cInner, 'v', (_x, inner) => {
            if (v === null) v = inner;
          });
          if (v === null) return;
          value = t === 's' ? (shared[Number(v)] ?? '') : xmlUnescape(v);
        }
        if (value !== '') cells.push({ col: colNo, value });
      });
      if (cells.length) rows.push({ row: rowNo, cells });
    });
    sheets.push({ name, rows });
  });
  return sheets;
}
