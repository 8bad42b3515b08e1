/**
 * The SCIM User and Group as Mamori stores them, and the rules that turn request bodies (POST, PUT,
 * PATCH) into changes of that model. Bodies are loose JSON by the spec; everything is checked here
 * and refused with a SCIM error naming the attribute (never echoing the value). Attributes Mamori
 * does not keep (addresses, phone numbers, locale …) are accepted and dropped: data minimisation.
 */
import { AppError } from '../../platform/errors.ts';
import { CORE_GROUP, CORE_USER, matches, parsePatchPath, splitUrn, type Filter } from './scim.filter.ts';

export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
/** Mamori's own extension: the employment type it derived, and the retirement date HR may send. */
export const MAMORI_USER = 'urn:ietf:params:scim:schemas:extension:mamori:2.0:User';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

export type UserModel = {
  userName: string;
  externalId: string | null;
  displayName: string | null;
  givenName: string | null;
  familyName: string | null;
  title: string | null;
  userType: string | null;
  active: boolean;
  email: string | null;
  department: string | null;
  managerId: string | null;
  employeeNumber: string | null;
  retirementDate: string | null;
};

export type GroupModel = { displayName: string; externalId: string | null; memberIds: string[] };

/** Accepted and not stored (the IdPs send them by default; Mamori does not need them). */
const DROPPED = new Set([
  'phonenumbers', 'addresses', 'preferredlanguage', 'locale', 'timezone', 'nickname', 'profileurl', 'photos', 'ims',
  'x509certificates', 'entitlements', 'roles', 'password', 'name.middlename', 'name.honorificprefix', 'name.honorificsuffix',
  'costcenter', 'organization', 'division', 'schemas', 'meta', 'groups', 'id',
]);

function bad(attr: string, what = 'has an invalid value'): AppError {
  return new AppError('scim.invalid_value', `The attribute ${attr} ${what}.`, { attribute: attr });
}

function str(v: unknown, attr: string, max = 256): string | null {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v) && v.length === 1) return str(v[0], attr, max);
  if (v !== null && typeof v === 'object' && 'value' in v) return str((v as { value: unknown }).value, attr, max);
  if (typeof v !== 'string' && typeof v !== 'number') throw bad(attr, 'must be a string');
  const s = String(v).trim();
  if (s.length > max) throw bad(attr, `is longer than ${max} characters`);
  return s === '' ? null : s;
}

/** SCIM booleans, including Entra ID's string booleans ("True", "False"). */
export function scimBoolean(v: unknown, attr: string): boolean {
  if (Array.isArray(v) && v.length === 1) return scimBoolean(v[0], attr);
  if (v !== null && typeof v === 'object' && 'value' in v) return scimBoolean((v as { value: unknown }).value, attr);
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v.trim())) return v.trim().toLowerCase() === 'true';
  throw bad(attr, 'must be a boolean');
}

function pickEmail(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (!Array.isArray(v)) throw bad('emails', 'must be a list');
  const items = v.filter((x): x is { value?: unknown; primary?: unknown; type?: unknown } => x !== null && typeof x === 'object');
  const chosen = items.find((x) => x.primary === true || x.primary === 'True' || x.primary === 'true') ?? items.find((x) => x.type === 'work') ?? items[0];
  return chosen ? email(chosen.value) : null;
}

function email(v: unknown): string | null {
  const s = str(v, 'emails', 254);
  if (s !== null && !/^[^\s@]+@[^\s@]+$/.test(s)) throw bad('emails');
  return s;
}

function date(v: unknown, attr: string): string | null {
  const s = str(v, attr, 64);
  if (s === null) return null;
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw bad(attr, 'must be a dateTime');
  return new Date(t).toISOString();
}

/** Sets one attribute (lower-cased, URN-free path) of the user model; `value` undefined = remove. */
function setUserAttr(m: UserModel, urn: string | null, path: string, value: unknown): void {
  const ext = urn?.toLowerCase() ?? null;
  const p = path.toLowerCase();
  const removing = value === undefined || value === null;
  if (ext === ENTERPRISE_USER.toLowerCase()) {
    switch (p) {
      case 'department': m.department = str(value, 'department', 100); return;
      case 'employeenumber': m.employeeNumber = str(value, 'employeeNumber', 64); return;
      case 'manager':
      case 'manager.value': m.managerId = str(value, 'manager', 64); return;
      case 'manager.displayname': return;
    }
    if (DROPPED.has(p)) return;
    throw new AppError('scim.invalid_path', 'Unknown attribute of the enterprise extension.', { attribute: path });
  }
  if (ext === MAMORI_USER.toLowerCase()) {
    if (p === 'retirementdate') { m.retirementDate = removing ? null : date(value, 'retirementDate'); return; }
    if (p === 'employmenttype') throw new AppError('scim.mutability', 'employmentType is read-only: send userType.', { attribute: path });
    throw new AppError('scim.invalid_path', 'Unknown attribute of the Mamori extension.', { attribute: path });
  }
  if (ext !== null && ext !== CORE_USER.toLowerCase()) throw new AppError('scim.invalid_path', 'Unknown schema extension.', { attribute: 'schema' });
  switch (p) {
    case 'username': {
      const s = str(value, 'userName', 200);
      if (s === null) throw bad('userName', 'is required');
      m.userName = s;
      return;
    }
    case 'externalid': m.externalId = str(value, 'externalId', 200); return;
    case 'displayname': m.displayName = str(value, 'displayName', 200); return;
    case 'name.givenname': m.givenName = str(value, 'name.givenName', 100); return;
    case 'name.familyname': m.familyName = str(value, 'name.familyName', 100); return;
    case 'name.formatted': if (!m.displayName) m.displayName = str(value, 'name.formatted', 200); return;
    case 'name': {
      if (removing) { m.givenName = null; m.familyName = null; return; }
      if (typeof value !== 'object' || Array.isArray(value)) throw bad('name', 'must be an object');
      for (const [k, v] of Object.entries(value as object)) setUserAttr(m, null, `name.${k}`, v);
      return;
    }
    case 'title': m.title = str(value, 'title', 200); return;
    case 'usertype': m.userType = str(value, 'userType', 100); return;
    case 'active':
      if (removing) throw bad('active', 'cannot be removed');
      m.active = scimBoolean(value, 'active');
      return;
    case 'emails': m.email = pickEmail(value); return;
    case 'emails.value': m.email = email(value); return;
  }
  if (DROPPED.has(p) || DROPPED.has(p.split('.')[0]!) || DROPPED.has(p.split('[')[0]!)) return;
  throw new AppError('scim.invalid_path', 'Unknown attribute.', { attribute: path.slice(0, 100) });
}

/** Applies a whole resource body (POST, PUT, or a path-less PATCH value) onto a model. */
function applyObject(m: UserModel, body: Record<string, unknown>, onlyGiven: boolean): void {
  for (const [k, v] of Object.entries(body)) {
    if (k.toLowerCase().startsWith('urn:')) {
      const { urn, attr } = splitUrn(k);
      // Either an extension object `{ "urn:…:User": { department } }` or a flattened `"urn:…:User:department"`.
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && [ENTERPRISE_USER, MAMORI_USER].some((u) => u.toLowerCase() === k.toLowerCase())) {
        for (const [sk, sv] of Object.entries(v as object)) setUserAttr(m, k, sk, sv);
      } else {
        setUserAttr(m, urn, attr, v);
      }
      continue;
    }
    if (!onlyGiven || v !== undefined) setUserAttr(m, null, k, v);
  }
}

export function emptyUser(): UserModel {
  return {
    userName: '', externalId: null, displayName: null, givenName: null, familyName: null, title: null, userType: null,
    active: true, email: null, department: null, managerId: null, employeeNumber: null, retirementDate: null,
  };
}

/** POST /Users and PUT /Users/{id}: the body is the whole resource. */
export function userFromBody(body: unknown): UserModel {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new AppError('scim.invalid_syntax', 'The body must be a SCIM User resource.');
  const m = emptyUser();
  applyObject(m, body as Record<string, unknown>, true);
  if (!m.userName) throw bad('userName', 'is required');
  return m;
}

type PatchOperation = { op: 'add' | 'replace' | 'remove'; path: string | null; value: unknown };

export function patchOperations(body: unknown): PatchOperation[] {
  const b = body as { schemas?: unknown; Operations?: unknown; operations?: unknown } | null;
  if (!b || typeof b !== 'object') throw new AppError('scim.invalid_syntax', 'The body must be a SCIM PatchOp message.');
  if (!Array.isArray(b.schemas) || !b.schemas.includes(PATCH_OP)) throw new AppError('scim.invalid_syntax', `The PatchOp message must name the schema ${PATCH_OP}.`);
  const ops = b.Operations ?? b.operations;
  if (!Array.isArray(ops) || ops.length === 0) throw new AppError('scim.invalid_syntax', 'Operations must be a non-empty list.');
  if (ops.length > 1000) throw new AppError('scim.too_many', 'At most 1000 operations per PATCH.');
  return ops.map((o: unknown) => {
    const x = o as { op?: unknown; path?: unknown; value?: unknown } | null;
    // Entra ID writes "Add", "Replace", "Remove": op names are case-insensitive.
    const op = typeof x?.op === 'string' ? x.op.toLowerCase() : '';
    if (op !== 'add' && op !== 'replace' && op !== 'remove') throw new AppError('scim.invalid_syntax', 'Each operation needs op add, replace or remove.');
    if (x!.path !== undefined && typeof x!.path !== 'string') throw new AppError('scim.invalid_path', 'path must be a string.');
    const path = typeof x!.path === 'string' && x!.path.trim() !== '' ? x!.path.trim() : null;
    if (op === 'remove' && path === null) throw new AppError('scim.no_target', 'A remove operation needs a path.');
    if (op !== 'remove' && x!.value === undefined) throw new AppError('scim.invalid_value', 'add and replace need a value.');
    return { op, path, value: x!.value };
  });
}

/** PATCH of a user: each operation onto a copy of the current model. */
export function patchUser(current: UserModel, body: unknown): UserModel {
  const m = { ...current };
  for (const o of patchOperations(body)) {
    if (o.path === null) {
      // Path-less add/replace (Okta's `{"op":"replace","value":{"active":false}}`): the value is a partial resource.
      if (o.value === null || typeof o.value !== 'object' || Array.isArray(o.value)) throw new AppError('scim.invalid_value', 'A path-less operation needs an object value.');
      applyObject(m, o.value as Record<string, unknown>, true);
      continue;
    }
    const p = parsePatchPath(o.path);
    const { urn, attr } = splitUrn(p.attr);
    const base = urn ? attr : p.attr;
    if (p.filter) {
      // emails[type eq "work"].value: Mamori keeps one e-mail, the filtered element is that one.
      if (base.toLowerCase() !== 'emails' && !DROPPED.has(base.toLowerCase())) throw new AppError('scim.invalid_path', 'Filtered paths are supported on emails only.', { attribute: base });
      if (base.toLowerCase() === 'emails') m.email = o.op === 'remove' ? null : p.sub ? email(o.value) : pickEmail(Array.isArray(o.value) ? o.value : [o.value]);
      continue;
    }
    const full = p.sub ? `${base}.${p.sub}` : base;
    setUserAttr(m, urn, full, o.op === 'remove' ? undefined : o.value);
  }
  return m;
}

// ---------------------------------------------------------------- groups

function memberIds(v: unknown): string[] {
  if (v === null || v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => {
    const id = str(typeof x === 'object' && x !== null ? (x as { value?: unknown }).value : x, 'members', 64);
    if (id === null) throw bad('members', 'needs a value (the member id)');
    return id;
  });
}

export function groupFromBody(body: unknown): GroupModel {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new AppError('scim.invalid_syntax', 'The body must be a SCIM Group resource.');
  const b = body as Record<string, unknown>;
  const get = (k: string) => Object.entries(b).find(([x]) => x.toLowerCase() === k)?.[1];
  const displayName = str(get('displayname'), 'displayName', 100);
  if (!displayName) throw bad('displayName', 'is required');
  return { displayName, externalId: str(get('externalid'), 'externalId', 200), memberIds: [...new Set(memberIds(get('members')))] };
}

/** PATCH of a group, including Entra's members add/remove and value-path removes (`members[value eq "…"]`). */
export function patchGroup(current: GroupModel & { id: string }, body: unknown): GroupModel {
  const m: GroupModel = { ...current, memberIds: [...current.memberIds] };
  const apply = (op: string, path: string | null, value: unknown): void => {
    if (path === null) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new AppError('scim.invalid_value', 'A path-less operation needs an object value.');
      for (const [k, v] of Object.entries(value as object)) {
        // Okta repeats the id in path-less replaces; it may not change.
        if (k.toLowerCase() === 'id') {
          if (v !== current.id) throw new AppError('scim.mutability', 'id is immutable.', { attribute: 'id' });
          continue;
        }
        if (k.toLowerCase() === 'schemas' || k.toLowerCase() === 'meta') continue;
        apply(op, k, v);
      }
      return;
    }
    const p = parsePatchPath(path);
    const { urn, attr } = splitUrn(p.attr);
    if (urn && urn.toLowerCase() !== CORE_GROUP.toLowerCase()) throw new AppError('scim.invalid_path', 'Unknown schema extension.', { attribute: 'schema' });
    const name = attr.toLowerCase();
    if (name === 'displayname') {
      if (op === 'remove') throw bad('displayName', 'cannot be removed');
      m.displayName = str(value, 'displayName', 100) ?? m.displayName;
      return;
    }
    if (name === 'externalid') { m.externalId = op === 'remove' ? null : str(value, 'externalId', 200); return; }
    if (name !== 'members') throw new AppError('scim.invalid_path', 'Unknown attribute.', { attribute: attr.slice(0, 100) });
    if (p.filter) {
      if (op !== 'remove') throw new AppError('scim.invalid_path', 'A filtered members path is supported for remove only.', { attribute: 'members' });
      const f: Filter = p.filter;
      m.memberIds = m.memberIds.filter((id) => !matches(f, { value: id, type: 'User' }));
      return;
    }
    if (op === 'remove') {
      // Entra ID: {"op":"Remove","path":"members","value":[{"value":"<id>"}]}; without a value, all members.
      if (value === undefined) { m.memberIds = []; return; }
      const gone = new Set(memberIds(value));
      m.memberIds = m.memberIds.filter((id) => !gone.has(id));
      return;
    }
    const ids = memberIds(value);
    m.memberIds = op === 'replace' ? [...new Set(ids)] : [...new Set([...m.memberIds, ...ids])];
  };
  for (const o of patchOperations(body)) apply(o.op, o.path, o.value);
  return m;
}
