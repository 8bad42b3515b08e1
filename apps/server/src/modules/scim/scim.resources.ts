/**
 * Mamori rows → SCIM resources (RFC 7643), the discovery documents, list responses, projection by
 * `attributes` / `excludedAttributes`, and the employment-type mapping of `userType`.
 */
import { EMPLOYMENT_TYPES, type EmploymentType } from '@mamori/contracts';
import { AppError } from '../../platform/errors.ts';
import { CORE_GROUP, CORE_USER, splitUrn } from './scim.filter.ts';
import { ENTERPRISE_USER, MAMORI_USER, type GroupModel, type UserModel } from './scim.model.ts';
import type { ScimGroupRow, ScimUserRow } from './scim.repository.ts';

export const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';
export const MAX_COUNT = 500;

/** Default `userType` → employment type (case-insensitive). Overridden by MAMORI_SCIM_USER_TYPES. */
export const DEFAULT_USER_TYPES: Readonly<Record<string, EmploymentType>> = {
  employee: 'employee', regular: 'employee', 'full-time': 'employee', 正社員: 'employee',
  dispatch: 'dispatch', dispatched: 'dispatch', temp: 'dispatch', temporary: 'dispatch', agency: 'dispatch', 派遣: 'dispatch', 派遣社員: 'dispatch',
  'part-time': 'part_time', parttime: 'part_time', part_time: 'part_time', intern: 'part_time', アルバイト: 'part_time', パート: 'part_time',
  advisor: 'advisor', 顧問: 'advisor',
  contractor: 'contractor', vendor: 'contractor', 業務委託: 'contractor',
};

export type UserTypeMapping = { map: Readonly<Record<string, EmploymentType>>; fallback: EmploymentType };

export function employmentTypeOf(userType: string | null, mapping: UserTypeMapping): EmploymentType {
  if (userType === null) return mapping.fallback;
  const t = mapping.map[userType.trim().toLowerCase()];
  if (t) return t;
  if ((EMPLOYMENT_TYPES as readonly string[]).includes(userType)) return userType as EmploymentType;
  // Unknown types are refused, not guessed: a dispatch worker must never pass as an employee.
  throw new AppError('scim.invalid_value', 'The userType is not mapped to an employment type (setting MAMORI_SCIM_USER_TYPES).', { attribute: 'userType' });
}

export const etagOf = (version: number): string => `W/"${version}"`;

export function userModelOf(u: ScimUserRow): UserModel {
  return {
    userName: u.login, externalId: u.external_id, displayName: u.display_name, givenName: u.given_name, familyName: u.family_name,
    title: u.title, userType: u.user_type, active: u.status === 'active', email: u.email, department: u.department_name,
    managerId: u.supervisor_id, employeeNumber: u.employee_number, retirementDate: u.retire_at ? new Date(u.retire_at).toISOString() : null,
  };
}

export function groupModelOf(g: ScimGroupRow): GroupModel {
  return { displayName: g.name, externalId: g.external_id, memberIds: g.member_ids };
}

const compact = <T extends Record<string, unknown>>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined)) as T;

export function userResource(base: string, u: ScimUserRow, groups: { id: string; name: string }[]): Record<string, unknown> {
  const location = `${base}/Users/${u.id}`;
  return compact({
    schemas: [CORE_USER, ENTERPRISE_USER, MAMORI_USER],
    id: u.id,
    externalId: u.external_id,
    userName: u.login,
    name: compact({ givenName: u.given_name, familyName: u.family_name, formatted: u.display_name }),
    displayName: u.display_name,
    title: u.title,
    userType: u.user_type,
    active: u.status === 'active',
    emails: u.email ? [{ value: u.email, type: 'work', primary: true }] : undefined,
    groups: groups.map((g) => ({ value: g.id, display: g.name, $ref: `${base}/Groups/${g.id}` })),
    [ENTERPRISE_USER]: compact({
      employeeNumber: u.employee_number,
      department: u.department_name,
      manager: u.supervisor_id ? { value: u.supervisor_id, $ref: `${base}/Users/${u.supervisor_id}` } : undefined,
    }),
    [MAMORI_USER]: compact({ employmentType: u.employment_type, retirementDate: u.retire_at ? new Date(u.retire_at).toISOString() : undefined }),
    meta: { resourceType: 'User', created: new Date(u.created_at).toISOString(), lastModified: new Date(u.updated_at).toISOString(), location, version: etagOf(u.version) },
  });
}

export function groupResource(base: string, g: ScimGroupRow): Record<string, unknown> {
  return compact({
    schemas: [CORE_GROUP],
    id: g.id,
    externalId: g.external_id,
    displayName: g.name,
    members: g.member_ids.map((id) => ({ value: id, type: 'User', $ref: `${base}/Users/${id}` })),
    meta: { resourceType: 'Group', created: new Date(g.created_at).toISOString(), lastModified: new Date(g.updated_at ?? g.created_at).toISOString(), location: `${base}/Groups/${g.id}`, version: etagOf(g.version) },
  });
}

/** `attributes` keeps only the named attributes (plus id and schemas); `excludedAttributes` drops them. */
export function project(resource: Record<string, unknown>, attributes: string | undefined, excluded: string | undefined): Record<string, unknown> {
  const names = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
  const keyOf = (path: string): { top: string; sub: string | null } => {
    const { urn, attr } = splitUrn(path);
    if (urn && urn.toLowerCase() !== CORE_USER.toLowerCase() && urn.toLowerCase() !== CORE_GROUP.toLowerCase()) return { top: urn, sub: attr };
    const [top, sub] = (urn ? attr : path).split('.', 2);
    return { top: top!, sub: sub ?? null };
  };
  const findKey = (o: Record<string, unknown>, k: string) => Object.keys(o).find((x) => x.toLowerCase() === k.toLowerCase());
  if (attributes) {
    const out: Record<string, unknown> = { schemas: resource.schemas, id: resource.id };
    for (const n of names(attributes)) {
      const { top, sub } = keyOf(n);
      const k = findKey(resource, top);
      if (!k) continue;
      const v = resource[k];
      if (sub && v && typeof v === 'object' && !Array.isArray(v)) {
        const sk = findKey(v as Record<string, unknown>, sub);
        if (sk) out[k] = { ...((out[k] as object | undefined) ?? {}), [sk]: (v as Record<string, unknown>)[sk] };
      } else if (sub && Array.isArray(v)) {
        out[k] = v.map((item: Record<string, unknown>) => { const sk = findKey(item, sub); return sk ? { [sk]: item[sk] } : {}; });
      } else out[k] = v;
    }
    return out;
  }
  if (excluded) {
    const out = { ...resource };
    for (const n of names(excluded)) {
      const { top, sub } = keyOf(n);
      const k = findKey(out, top);
      if (!k || k === 'id' || k === 'schemas') continue;
      if (sub && out[k] && typeof out[k] === 'object' && !Array.isArray(out[k])) {
        const copy = { ...(out[k] as Record<string, unknown>) };
        const sk = findKey(copy, sub);
        if (sk) delete copy[sk];
        out[k] = copy;
      } else if (!sub) delete out[k];
    }
    return out;
  }
  return resource;
}

export function listResponse(resources: Record<string, unknown>[], total: number, startIndex: number): Record<string, unknown> {
  return { schemas: [LIST_RESPONSE], totalResults: total, startIndex, itemsPerPage: resources.length, Resources: resources };
}

export function serviceProviderConfig(base: string): Record<string, unknown> {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_COUNT },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: true },
    authenticationSchemes: [{ type: 'oauthbearertoken', name: 'Bearer token', description: 'A SCIM client token from `mamori scim token create <client>`', primary: true }],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  };
}

export function resourceTypes(base: string): Record<string, unknown>[] {
  return [
    { schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'], id: 'User', name: 'User', endpoint: '/Users', schema: CORE_USER,
      schemaExtensions: [{ schema: ENTERPRISE_USER, required: false }, { schema: MAMORI_USER, required: false }], meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/User` } },
    { schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'], id: 'Group', name: 'Group', endpoint: '/Groups', schema: CORE_GROUP,
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/Group` } },
  ];
}

type Attr = { name: string; type: string; multiValued?: boolean; required?: boolean; caseExact?: boolean; mutability?: string; returned?: string; uniqueness?: string; subAttributes?: Attr[] };
const a = (name: string, type = 'string', extra: Partial<Attr> = {}): Attr => ({ name, type, multiValued: false, required: false, caseExact: false, mutability: 'readWrite', returned: 'default', uniqueness: 'none', ...extra });

export function schemas(base: string): Record<string, unknown>[] {
  const schema = (id: string, name: string, attributes: Attr[]) => ({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'], id, name, attributes, meta: { resourceType: 'Schema', location: `${base}/Schemas/${id}` } });
  return [
    schema(CORE_USER, 'User', [
      a('userName', 'string', { required: true, uniqueness: 'server' }),
      a('name', 'complex', { subAttributes: [a('givenName'), a('familyName'), a('formatted')] }),
      a('displayName'), a('title'), a('userType'), a('active', 'boolean'),
      a('externalId', 'string', { caseExact: true }),
      a('emails', 'complex', { multiValued: true, subAttributes: [a('value'), a('type'), a('primary', 'boolean')] }),
      a('groups', 'complex', { multiValued: true, mutability: 'readOnly', subAttributes: [a('value', 'string', { mutability: 'readOnly' }), a('display', 'string', { mutability: 'readOnly' })] }),
    ]),
    schema(ENTERPRISE_USER, 'EnterpriseUser', [
      a('employeeNumber'), a('department'),
      a('manager', 'complex', { subAttributes: [a('value'), a('$ref', 'reference')] }),
    ]),
    schema(MAMORI_USER, 'MamoriUser', [
      a('employmentType', 'string', { mutability: 'readOnly' }),
      a('retirementDate', 'dateTime'),
    ]),
    schema(CORE_GROUP, 'Group', [
      a('displayName', 'string', { required: true, uniqueness: 'server' }),
      a('externalId', 'string', { caseExact: true }),
      a('members', 'complex', { multiValued: true, subAttributes: [a('value', 'string', { mutability: 'immutable' }), a('type'), a('display', 'string', { mutability: 'readOnly' })] }),
    ]),
  ];
}
