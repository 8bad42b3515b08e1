/**
 * SCIM filters (RFC 7644 §3.4.2.2) and attribute paths. Parsing is `scim2-parse-filter`; evaluation is
 * ours, because SCIM semantics differ from plain JSON matching: attribute names are case-insensitive,
 * string comparison is case-insensitive unless the attribute is caseExact, dateTime attributes
 * compare as instants, extension attributes are addressed by schema URN, and a multi-valued complex
 * attribute compared without a sub-attribute means its `value`.
 */
import { parse, type Filter } from 'scim2-parse-filter';
import { AppError } from '../../platform/errors.ts';

export type { Filter };

export const MAX_FILTER_LENGTH = 2000;

/** Attributes compared case-sensitively (RFC 7643: id, externalId, meta.version are caseExact). */
const CASE_EXACT = new Set(['id', 'externalid', 'meta.version', 'value']);
/** Attributes of type dateTime: gt/lt/ge/le compare instants. */
const DATE_TIME = new Set(['meta.created', 'meta.lastmodified', 'retirementdate']);

export function parseFilter(text: string): Filter {
  if (text.length > MAX_FILTER_LENGTH) throw new AppError('scim.invalid_filter', `The filter is longer than ${MAX_FILTER_LENGTH} characters.`);
  try {
    return parse(text);
  } catch {
    // The parser's message quotes the input: it is not passed on (the filter may hold personal data).
    throw new AppError('scim.invalid_filter', 'The filter is not valid SCIM filter syntax (RFC 7644 section 3.4.2.2).');
  }
}

type Json = unknown;

function getKey(obj: Json, key: string): Json {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** Splits `urn:…:User:department.sub` into the extension URN and the attribute path inside it. */
export function splitUrn(path: string): { urn: string | null; attr: string } {
  if (!path.toLowerCase().startsWith('urn:')) return { urn: null, attr: path };
  const i = path.lastIndexOf(':');
  return { urn: path.slice(0, i), attr: path.slice(i + 1) };
}

export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

/** Every value an attribute path reaches in a resource (flattening multi-valued attributes). */
export function valuesAt(resource: Json, path: string): Json[] {
  const { urn, attr } = splitUrn(path);
  const isExtension = urn !== null && urn.toLowerCase() !== CORE_USER.toLowerCase() && urn.toLowerCase() !== CORE_GROUP.toLowerCase();
  let current: Json[] = isExtension ? [getKey(resource, urn)] : [resource];
  for (const part of attr.split('.')) {
    const next: Json[] = [];
    for (const c of current) {
      const v = Array.isArray(c) ? c.map((x) => getKey(x, part)) : [getKey(c, part)];
      for (const x of v) {
        if (Array.isArray(x)) next.push(...x);
        else if (x !== undefined && x !== null) next.push(x);
      }
    }
    current = next;
  }
  // A complex value compared directly means its "value" sub-attribute (e.g. `emails co "@x"`).
  return current.map((v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? getKey(v, 'value') : v)).filter((v) => v !== undefined && v !== null);
}

function normaliseName(path: string): string {
  const { urn, attr } = splitUrn(path);
  return (urn ? attr : path).toLowerCase();
}

function compare(op: string, actual: Json, expected: Json, name: string): boolean {
  if (typeof expected === 'boolean' || typeof actual === 'boolean') {
    if (op === 'eq') return actual === expected;
    if (op === 'ne') return actual !== expected;
    throw new AppError('scim.invalid_filter', 'Booleans can only be compared with eq or ne.');
  }
  if (expected === null) return op === 'eq' ? actual === null : actual !== null;
  if (DATE_TIME.has(name) && ['gt', 'lt', 'ge', 'le', 'eq', 'ne'].includes(op)) {
    const a = Date.parse(String(actual));
    const e = Date.parse(String(expected));
    if (Number.isNaN(e)) throw new AppError('scim.invalid_filter', 'A dateTime attribute is compared with a value that is not a date.');
    switch (op) {
      case 'gt': return a > e;
      case 'ge': return a >= e;
      case 'lt': return a < e;
      case 'le': return a <= e;
      case 'eq': return a === e;
      case 'ne': return a !== e;
    }
  }
  if (typeof expected === 'number' && typeof actual === 'number') {
    switch (op) {
      case 'eq': return actual === expected;
      case 'ne': return actual !== expected;
      case 'gt': return actual > expected;
      case 'ge': return actual >= expected;
      case 'lt': return actual < expected;
      case 'le': return actual <= expected;
    }
  }
  const exact = CASE_EXACT.has(name) || CASE_EXACT.has(name.split('.').at(-1) ?? '');
  const a = exact ? String(actual) : String(actual).toLowerCase();
  const e = exact ? String(expected) : String(expected).toLowerCase();
  switch (op) {
    case 'eq': return a === e;
    case 'ne': return a !== e;
    case 'co': return a.includes(e);
    case 'sw': return a.startsWith(e);
    case 'ew': return a.endsWith(e);
    case 'gt': return a > e;
    case 'ge': return a >= e;
    case 'lt': return a < e;
    case 'le': return a <= e;
  }
  throw new AppError('scim.invalid_filter', 'Unsupported comparison operator.');
}

/** Does the resource (or a member of a multi-valued attribute) match the filter? */
export function matches(f: Filter, resource: Json): boolean {
  switch (f.op) {
    case 'and':
      return f.filters.every((x) => matches(x, resource));
    case 'or':
      return f.filters.some((x) => matches(x, resource));
    case 'not':
      return !matches(f.filter, resource);
    case '[]': {
      // Value path: some element of the multi-valued attribute matches the inner filter.
      const { urn, attr } = splitUrn(f.attrPath);
      const container = urn ? getKey(resource, urn) : resource;
      const items = getKey(container, urn ? attr : f.attrPath);
      const list = Array.isArray(items) ? items : items === undefined || items === null ? [] : [items];
      return list.some((item) => matches(f.valFilter, item));
    }
    case 'pr':
      return valuesAt(resource, f.attrPath).some((v) => !(v === '' || (Array.isArray(v) && v.length === 0)));
    default: {
      const name = normaliseName(f.attrPath);
      const values = valuesAt(resource, f.attrPath);
      if (f.op === 'ne') return values.length === 0 ? f.compValue !== null : !values.some((v) => compare('eq', v, f.compValue, name));
      return values.some((v) => compare(f.op, v, f.compValue, name));
    }
  }
}

/**
 * `attr[filter].sub` → its parts (RFC 7644 §3.5.2 PATCH paths). The filter part is parsed as a
 * filter; the attribute may carry an extension URN (`urn:…:User:manager`).
 */
export type PatchPath = { attr: string; filter: Filter | null; sub: string | null };

export function parsePatchPath(path: string): PatchPath {
  const m = /^([^[\]]+?)(?:\[(.+)\])?(?:\.([A-Za-z0-9_$-]+))?$/.exec(path.trim());
  if (!m || path.length > 500) throw new AppError('scim.invalid_path', 'The PATCH path is not a valid attribute path.');
  const [, attr, filterText, sub] = m;
  return { attr: attr!, filter: filterText ? parseFilter(filterText) : null, sub: sub ?? null };
}
