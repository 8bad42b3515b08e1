/** Helpers for the SCIM tests: a client token, requests with it, and actors for the data owner. */
import type { FastifyInstance } from 'fastify';
import { systemActor, type Actor } from '../src/modules/identity/index.ts';
import type { UserId } from '../src/platform/ids.ts';
import type { AppContext } from '../src/platform/context.ts';
import { createClientToken } from '../src/modules/scim/index.ts';

export const system = systemActor({ ip: null, userAgent: 'test', deviceId: null });
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const MAMORI = 'urn:ietf:params:scim:schemas:extension:mamori:2.0:User';

export type ScimResponse = { status: number; json: any; headers: Record<string, unknown> };
export type ScimClient = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown, headers?: Record<string, string>) => Promise<ScimResponse>;

export async function scimClient(ctx: AppContext, app: FastifyInstance, name: string): Promise<{ token: string; tokenId: string; request: ScimClient }> {
  const { token, tokenId } = await createClientToken(ctx, system, name);
  const request: ScimClient = async (method, url, body, headers = {}) => {
    const r = await app.inject({
      method, url: `/scim/v2${url}`,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }), ...headers },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    return { status: r.statusCode, json: r.body ? JSON.parse(r.body) : null, headers: r.headers };
  };
  return { token, tokenId, request };
}

export async function userId(ctx: AppContext, login: string): Promise<string> {
  return (await ctx.db.selectFrom('users').select('id').where('login', '=', login).executeTakeFirstOrThrow()).id;
}

/** The demo data owner as an actor (grants on `contacts` are theirs to make). */
export async function ownerActor(ctx: AppContext): Promise<Actor> {
  return { ...system, kind: 'user', userId: (await userId(ctx, 'owner')) as UserId, login: 'owner', employmentType: 'employee', roles: ['data_owner'], mfa: true };
}

export const filter = (f: string) => encodeURIComponent(f);
