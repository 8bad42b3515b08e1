// @ts-check
/**
 * Do the searchable columns of an audit_events row say what its payload says? Verification asks this
 * of every event (plain JavaScript for the verifier's worker threads; types in audit.columns.d.mts).
 *
 * The sequencer derives the columns from the payload in SQL (`DERIVED_COLUMNS` in the repository):
 *   at            (j ->> 'at')::timestamptz          actor_user_id (j -> 'actor' ->> 'user')::uuid
 *   action        j ->> 'action'                     dataset_id    (j ->> 'dataset')::uuid
 *   record_ids    the 'records' array as uuid[], '{}' when it is not an array
 *   decision      j ->> 'decision'
 * Here the payload's UTF-8 bytes are scanned once, without building a JavaScript object, and compared
 * with the stored columns as PostgreSQL's binary COPY format gives them. The scanner takes the same
 * view of the JSON as jsonb (the last of duplicate keys wins; absent, null or a non-object `actor`
 * gives NULL). Anything it does not decide exactly — an escape inside a string it needs, a time not
 * in the `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` form, a uuid not in canonical form, a number where a string
 * belongs — is UNDECIDED: verification then asks PostgreSQL to compare with that very SQL.
 */

export const AGREE = 0;
export const DISAGREE = 1;
export const UNDECIDED = 2;

/** Column names in COPY order (after log_index, payload, leaf_hash). */
export const COLUMNS = ['at', 'actor_user_id', 'action', 'dataset_id', 'record_ids', 'decision'];

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Thrown inside the scanner when it cannot decide; caught in compareColumns. */
const UNDECIDABLE = new Error('undecided');

/*
 * The scanner is a plain byte loop over module-level state: no object, closure or native call per
 * token (a Buffer.indexOf per string cost more than the whole scan). A value's place is kept as
 * [start, end) of its string content; start -1 means NULL (JSON null, absent, or — for the actor's
 * user — an actor that is not an object).
 */
/** @type {Buffer} */
let b = Buffer.alloc(0);
let i = 0;
let end = 0;
let atS = -1, atE = -1, userS = -1, userE = -1, actionS = -1, actionE = -1, datasetS = -1, datasetE = -1, decisionS = -1, decisionE = -1;
/** Start offsets of the records' uuid strings; recordsN < 0 when 'records' is not an array. */
const records = new Int32Array(4096);
let recordsN = -1;
let strS = 0; // content start of the last string read

function ws() {
  const buf = b;
  let j = i;
  while (j < end) {
    const c = buf[j];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    j++;
  }
  i = j;
}

/** At an opening quote: moves past the string; its content starts at strS. Returns false when it has escapes. */
function string() {
  const buf = b;
  const e = end;
  let plain = true;
  let j = i + 1;
  strS = j;
  while (j < e) {
    const c = buf[j];
    if (c === QUOTE) {
      i = j + 1;
      return plain;
    }
    if (c === BACKSLASH) {
      plain = false;
      j++;
    }
    j++;
  }
  throw UNDECIDABLE;
}

/** At a plain string: its content range is [strS, i - 1). */
function plainString() {
  if (!string()) throw UNDECIDABLE;
}

function skipValue() {
  ws();
  const c = b[i];
  if (c === QUOTE) {
    string();
    return;
  }
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    while (i < end) {
      const d = b[i];
      if (d === QUOTE) {
        string();
        continue;
      }
      if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        if (--depth === 0) {
          i++;
          return;
        }
      }
      i++;
    }
    throw UNDECIDABLE;
  }
  while (i < end) {
    const d = b[i];
    if (d === 0x2c || d === 0x7d || d === 0x5d || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09) return;
    i++;
  }
}

/** A value that must be a plain string or null: its content start (end in strE), or -1 for null. */
let strE = 0;
function stringOrNull() {
  ws();
  const c = b[i];
  if (c === QUOTE) {
    plainString();
    strE = i - 1;
    return strS;
  }
  if (c === 0x6e && b[i + 1] === 0x75 && b[i + 2] === 0x6c && b[i + 3] === 0x6c) {
    i += 4;
    return -1;
  }
  throw UNDECIDABLE; // a number, boolean, object or array as text: leave it to the database
}

/** At an object member's key: reads it and the colon; the key is [strS, keyE). */
let keyE = 0;
function key() {
  ws();
  if (b[i] !== QUOTE) throw UNDECIDABLE;
  plainString();
  keyE = i - 1;
  ws();
  if (b[i] !== 0x3a) throw UNDECIDABLE;
  i++;
}

/** Is the key just read `word`? */
/** @param {string} word */
function keyIs(word) {
  const n = keyE - strS;
  if (n !== word.length) return false;
  for (let k = 0; k < n; k++) if (b[strS + k] !== word.charCodeAt(k)) return false;
  return true;
}

/** After a member: true when another follows, false at the object's end. */
function more() {
  ws();
  const c = b[i++];
  if (c === 0x2c) return true;
  if (c === 0x7d) return false;
  throw UNDECIDABLE;
}

/** At '{': true when the object has members (the cursor then at the first key). */
function open() {
  ws();
  if (b[i] !== 0x7b) throw UNDECIDABLE;
  i++;
  ws();
  if (b[i] === 0x7d) {
    i++;
    return false;
  }
  return true;
}

function actor() {
  ws();
  userS = -1; // `->` into anything but an object, or a missing 'user', is NULL
  if (b[i] !== 0x7b) return skipValue();
  if (!open()) return;
  do {
    key();
    if (keyIs('user')) {
      userS = stringOrNull();
      userE = strE;
    } else skipValue();
  } while (more());
}

function recordList() {
  ws();
  recordsN = -1;
  if (b[i] !== 0x5b) return skipValue();
  i++;
  recordsN = 0;
  ws();
  if (b[i] === 0x5d) {
    i++;
    return;
  }
  for (;;) {
    ws();
    if (b[i] !== QUOTE) throw UNDECIDABLE; // NULL or a non-string element
    plainString();
    if (i - 1 - strS !== 36 || recordsN >= records.length) throw UNDECIDABLE;
    records[recordsN++] = strS;
    ws();
    const c = b[i++];
    if (c === 0x5d) return;
    if (c !== 0x2c) throw UNDECIDABLE;
  }
}

/** Scans the payload's top-level object (the last of duplicate keys wins, as in jsonb). */
function scan() {
  atS = userS = actionS = datasetS = decisionS = -1;
  recordsN = -1;
  if (!open()) return;
  do {
    key();
    const n = keyE - strS;
    const c0 = b[strS];
    if (n === 2 && keyIs('at')) {
      atS = stringOrNull();
      atE = strE;
    } else if (n === 5 && c0 === 0x61 && keyIs('actor')) actor();
    else if (n === 6 && c0 === 0x61 && keyIs('action')) {
      actionS = stringOrNull();
      actionE = strE;
    } else if (n === 7 && c0 === 0x64 && keyIs('dataset')) {
      datasetS = stringOrNull();
      datasetE = strE;
    } else if (n === 7 && c0 === 0x72 && keyIs('records')) recordList();
    else if (n === 8 && c0 === 0x64 && keyIs('decision')) {
      decisionS = stringOrNull();
      decisionE = strE;
    } else skipValue();
  } while (more());
}

/** The value of a hex digit by byte (either case), -1 for any other byte. */
const HEX = new Int8Array(256).fill(-1);
for (let d = 0; d < 10; d++) HEX[0x30 + d] = d;
for (let d = 0; d < 6; d++) HEX[0x61 + d] = HEX[0x41 + d] = 10 + d;
/** Where the hex digit pairs of a canonical uuid text start (the hyphens at 8, 13, 18, 23 between). */
const UUID_PAIRS = new Int8Array([0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34]);

/**
 * Does the canonical uuid text at b[s, s + 36) equal the 16 bytes at c[o, o + 16)? A uuid in
 * another spelling is undecided.
 * @param {Buffer} b @param {number} s @param {Buffer} c @param {number} o
 */
function uuidEquals(b, s, c, o) {
  for (let k = 0; k < 16; k++) {
    // The hyphens are checked where a left-to-right reading meets them (a difference before one decides).
    if (k >= 4 && k <= 10 && (k & 1) === 0 && b[s + /** @type {number} */ (UUID_PAIRS[k]) - 1] !== 0x2d) throw UNDECIDABLE;
    const at = s + /** @type {number} */ (UUID_PAIRS[k]);
    const hi = /** @type {number} */ (HEX[/** @type {number} */ (b[at])]);
    const lo = /** @type {number} */ (HEX[/** @type {number} */ (b[at + 1])]);
    if ((hi | lo) < 0) throw UNDECIDABLE;
    if (c[o + k] !== ((hi << 4) | lo)) return false;
  }
  return true;
}

const EPOCH_2000_MS = Date.UTC(2000, 0, 1);
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** The `YYYY-MM-DDTHH:MM` of the last time read, and its milliseconds (NaN: none yet). */
const minuteText = new Uint8Array(16);
let minuteMs = NaN;

/** @param {Buffer} b @param {number} i @param {number} n */
function digits(b, i, n) {
  let v = 0;
  for (let k = 0; k < n; k++) {
    const d = /** @type {number} */ (b[i + k]) - 0x30;
    if (d < 0 || d > 9) throw UNDECIDABLE;
    v = v * 10 + d;
  }
  return v;
}

/**
 * Microseconds since 2000-01-01 UTC (PostgreSQL's timestamptz) of `YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z`.
 * @param {Buffer} b @param {number} s @param {number} e
 */
function isoMicros(b, s, e) {
  const n = e - s;
  if (n < 20 || b[s + 4] !== 0x2d || b[s + 7] !== 0x2d || b[s + 10] !== 0x54 || b[s + 13] !== 0x3a || b[s + 16] !== 0x3a || b[e - 1] !== 0x5a) throw UNDECIDABLE;
  // Events come in time order: most share the previous one's minute, whose checks and Date.UTC are kept.
  let same = minuteMs === minuteMs; // not NaN
  for (let k = 0; same && k < 16; k++) same = b[s + k] === minuteText[k];
  if (!same) {
    const year = digits(b, s, 4);
    const month = digits(b, s + 5, 2);
    const day = digits(b, s + 8, 2);
    const hour = digits(b, s + 11, 2);
    const minute = digits(b, s + 14, 2);
    if (year < 1000 || month < 1 || month > 12 || hour > 23 || minute > 59) throw UNDECIDABLE;
    const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
    if (day < 1 || day > (month === 2 ? (leap ? 29 : 28) : DAYS[month - 1])) throw UNDECIDABLE; // 31 April and the like
    minuteMs = Date.UTC(year, month - 1, day, hour, minute, 0);
    minuteText.set(b.subarray(s, s + 16));
  }
  const second = digits(b, s + 17, 2);
  let micros = 0;
  if (n > 20) {
    const f = n - 21; // digits after the point
    if (b[s + 19] !== 0x2e || f < 1 || f > 6) throw UNDECIDABLE;
    micros = digits(b, s + 20, f) * 10 ** (6 - f);
  }
  if (second > 59) throw UNDECIDABLE;
  const us = (minuteMs + second * 1000 - EPOCH_2000_MS) * 1000 + micros;
  if (!Number.isSafeInteger(us)) throw UNDECIDABLE;
  return us;
}

/**
 * Compares the stored columns with the payload at p[ps, pe). `c` holds the COPY field bytes of the
 * columns, `o[base + k]` and `len[base + k]` the offset and length (-1 = NULL) of column k in COLUMNS
 * order. Returns AGREE, UNDECIDED, or DISAGREE with the first disagreeing column's position in `bad[0]`.
 * @param {Buffer} p @param {number} ps @param {number} pe
 * @param {Buffer} c @param {Int32Array | number[]} o @param {Int32Array | number[]} len @param {number} base
 * @param {number[]} bad
 */
export function compareColumns(p, ps, pe, c, o, len, base, bad) {
  b = p;
  i = ps;
  end = pe;
  try {
    scan();
    return columnsEqual(p, c, o, len, base, bad);
  } catch (e) {
    if (e === UNDECIDABLE) return UNDECIDED;
    throw e;
  }
}

/** @param {number[]} bad @param {number} col @returns {1} */
function diff(bad, col) {
  bad[0] = col;
  return DISAGREE;
}

/**
 * @param {Buffer} p @param {Buffer} c @param {Int32Array | number[]} o @param {Int32Array | number[]} len @param {number} base @param {number[]} bad
 * @returns {0 | 1}
 */
function columnsEqual(p, c, o, len, base, bad) {
  // at (timestamptz: 8 bytes, big-endian microseconds since 2000)
  if (atS < 0) {
    if (len[base + 0] !== -1) return diff(bad, 0);
  } else {
    if (len[base + 0] !== 8) return diff(bad, 0);
    const us = isoMicros(p, atS, atE);
    const hi = Math.floor(us / 4294967296);
    const at = /** @type {number} */ (o[base + 0]);
    if (c.readInt32BE(at) !== hi || c.readUInt32BE(at + 4) !== us - hi * 4294967296) return diff(bad, 0);
  }
  // actor_user_id, dataset_id (uuid: 16 bytes)
  if (!uuidColumn(p, userS, userE, c, o, len, base + 1)) return diff(bad, 1);
  if (!uuidColumn(p, datasetS, datasetE, c, o, len, base + 3)) return diff(bad, 3);
  // action, decision (text)
  if (!textColumn(p, actionS, actionE, c, o, len, base + 2)) return diff(bad, 2);
  if (!textColumn(p, decisionS, decisionE, c, o, len, base + 5)) return diff(bad, 5);
  // record_ids (uuid[]: ndim, has-null flag, element type, then per dimension size and lower bound, then elements)
  const n = recordsN < 0 ? 0 : recordsN;
  const ao = /** @type {number} */ (o[base + 4]);
  if (len[base + 4] === -1) return diff(bad, 4);
  const ndim = c.readInt32BE(ao);
  if (n === 0) {
    if (ndim !== 0) return diff(bad, 4);
  } else {
    if (ndim !== 1 || c.readInt32BE(ao + 4) !== 0 || c.readInt32BE(ao + 12) !== n || c.readInt32BE(ao + 16) !== 1) return diff(bad, 4);
    let q = ao + 20;
    for (let k = 0; k < n; k++) {
      if (c.readInt32BE(q) !== 16 || !uuidEquals(p, /** @type {number} */ (records[k]), c, q + 4)) return diff(bad, 4);
      q += 20;
    }
  }
  return AGREE;
}

/** @param {Buffer} p @param {number} s @param {number} e @param {Buffer} c @param {Int32Array | number[]} o @param {Int32Array | number[]} len @param {number} col */
function uuidColumn(p, s, e, c, o, len, col) {
  if (s < 0) return len[col] === -1;
  if (e - s !== 36) throw UNDECIDABLE;
  return len[col] === 16 && uuidEquals(p, s, c, /** @type {number} */ (o[col]));
}

/** @param {Buffer} p @param {number} s @param {number} e @param {Buffer} c @param {Int32Array | number[]} o @param {Int32Array | number[]} len @param {number} col */
function textColumn(p, s, e, c, o, len, col) {
  if (s < 0) return len[col] === -1;
  const n = e - s;
  if (len[col] !== n) return false;
  const at = /** @type {number} */ (o[col]);
  for (let k = 0; k < n; k++) if (p[s + k] !== c[at + k]) return false;
  return true;
}
