/**
 * SCIM clients (one per IdP or HR system) and their bearer tokens. A client acts through a service
 * user of its own (kind `service`, no roles, no password), so every SCIM change is on the audit
 * record under that client. Tokens are stored as SHA-256 only and shown once.
 */
import type { AppContext } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import { hashToken, newOpaqueToken } from '../../platform/crypto/tokens.ts';
import { isUuid, newId, type UserId } from '../../platform/ids.ts';
import { appendAudit, appendAuditAlone, auditRepository } from '../audit/index.ts';
import { authorize } from '../access-policy/index.ts';
import { anonymousActor, type Actor, type Terminal } from '../identity/index.ts';

export const CLIENT_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,59}$/;
const TOKEN_PREFIX = 'mscim';

export type ScimClientView = {
  id: string; name: string; createdAt: string; revokedAt: string | null;
  tokens: { id: string; createdAt: string; lastUsedAt: string | null; revokedAt: string | null }[];
};

/** Creates the client if it does not exist yet, and issues a new token for it (returned once). */
export async function createClientToken(ctx: AppContext, actor: Actor, name: string): Promise<{ clientId: string; tokenId: string; token: string; clientCreated: boolean }> {
  await authorize(ctx, { actor, action: 'scim.client.manage' });
  if (!CLIENT_NAME_RE.test(name)) throw new AppError('request.invalid', 'A client name is 1–60 letters, digits, dots, dashes or underscores.', { field: 'name' });
  const now = ctx.clock.now();
  const token = newOpaqueToken(TOKEN_PREFIX);
  const tokenId = newId();
  return ctx.db.transaction().execute(async (tx) => {
    let client = await tx.selectFrom('scim_clients').selectAll().where('name', '=', name).executeTakeFirst();
    let clientCreated = false;
    if (client?.revoked_at) throw new AppError('conflict', 'This SCIM client was revoked; choose another name.');
    if (!client) {
      const userId = newId();
      await tx.insertInto('users').values({
        id: userId, login: `scim-client.${name}`, display_name: `SCIM client ${name}`, email: null, kind: 'service', employment_type: 'employee',
        department_id: null, supervisor_id: null, status: 'active', status_changed_at: now, password_hash: null, password_change_required: false,
        totp_secret_sealed: null, totp_enrolled_at: null, totp_last_step: null, locked_until: null, created_at: now, updated_at: now,
      }).execute();
      client = { id: newId(), name, service_user_id: userId, created_at: now, created_by: actor.userId, revoked_at: null };
      await tx.insertInto('scim_clients').values(client).execute();
      clientCreated = true;
    }
    await tx.insertInto('scim_tokens').values({ id: tokenId, client_id: client.id, token_hash: hashToken(token), created_at: now, created_by: actor.userId, revoked_at: null, last_used_at: null }).execute();
    await appendAudit(tx, ctx.clock, actor, {
      action: 'scim.client.manage', decision: 'allow', rule: 'role.allowed', reason: clientCreated ? 'SCIM client created and token issued' : 'SCIM token issued', result: 'ok',
      subjectUserId: client.service_user_id, details: { clientId: client.id, tokenId, clientCreated },
    });
    return { clientId: client.id, tokenId, token, clientCreated };
  });
}

export async function listClients(ctx: AppContext, actor: Actor): Promise<ScimClientView[]> {
  await authorize(ctx, { actor, action: 'scim.client.manage' });
  const clients = await ctx.db.selectFrom('scim_clients').selectAll().orderBy('name').execute();
  const tokens = await ctx.db.selectFrom('scim_tokens').select(['id', 'client_id', 'created_at', 'last_used_at', 'revoked_at']).orderBy('created_at', 'desc').execute();
  const iso = (d: Date | string | null) => (d ? new Date(d).toISOString() : null);
  return clients.map((c) => ({
    id: c.id, name: c.name, createdAt: iso(c.created_at)!, revokedAt: iso(c.revoked_at),
    tokens: tokens.filter((t) => t.client_id === c.id).map((t) => ({ id: t.id, createdAt: iso(t.created_at)!, lastUsedAt: iso(t.last_used_at), revokedAt: iso(t.revoked_at) })),
  }));
}

export async function revokeToken(ctx: AppContext, actor: Actor, tokenId: string): Promise<void> {
  await authorize(ctx, { actor, action: 'scim.client.manage' });
  if (!isUuid(tokenId)) throw new AppError('not_found', 'No such live SCIM token.');
  await ctx.db.transaction().execute(async (tx) => {
    const r = await tx.updateTable('scim_tokens').set({ revoked_at: ctx.clock.now() }).where('id', '=', tokenId).where('revoked_at', 'is', null).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw new AppError('not_found', 'No such live SCIM token.');
    await appendAudit(tx, ctx.clock, actor, { action: 'scim.client.manage', decision: 'allow', rule: 'role.allowed', reason: 'SCIM token revoked', result: 'ok', details: { tokenId } });
  });
}

/**
 * The actor of a SCIM request. Not cached: SCIM traffic is light and a revoked token must stop at
 * once. An unknown or revoked token is audited as a denial.
 */
export async function resolveScimToken(ctx: AppContext, token: string | null, terminal: Terminal, requestId: string): Promise<Actor> {
  const row = token
    ? await ctx.db.selectFrom('scim_tokens as t').innerJoin('scim_clients as c', 'c.id', 't.client_id').innerJoin('users as u', 'u.id', 'c.service_user_id')
      .select(['t.id as token_id', 't.revoked_at as token_revoked_at', 't.last_used_at', 'c.id as client_id', 'c.revoked_at as client_revoked_at', 'u.id as user_id', 'u.login', 'u.status'])
      .where('t.token_hash', '=', hashToken(token)).executeTakeFirst()
    : undefined;
  if (!row || row.token_revoked_at || row.client_revoked_at || row.status !== 'active') {
    await appendAuditAlone(ctx.db, ctx.clock, anonymousActor(terminal, requestId, row?.user_id ?? null), {
      action: 'scim.read', decision: 'deny', rule: token ? 'scim.token_invalid' : 'scim.token_missing', reason: 'SCIM request without a valid SCIM token', result: 'denied',
    });
    throw new AppError('auth.required', 'A valid SCIM bearer token is required.');
  }
  const now = ctx.clock.now();
  if (!row.last_used_at || now.getTime() - new Date(row.last_used_at).getTime() > 60_000) {
    await ctx.db.updateTable('scim_tokens').set({ last_used_at: now }).where('id', '=', row.token_id).execute();
  }
  return {
    kind: 'service', userId: row.user_id as UserId, login: row.login, employmentType: null, status: 'active', roles: [], groupIds: [],
    sessionRef: null, tokenId: row.token_id, mfa: false, passwordChangeRequired: false, terminal, requestId, grants: [], scimClientId: row.client_id,
  };
}

/** The provisioning event log: SCIM changes and refusals, newest first (from the audit log). */
export async function provisioningLog(ctx: AppContext, actor: Actor, limit: number): Promise<{ id: number; at: string; payload: unknown }[]> {
  await authorize(ctx, { actor, action: 'scim.log.read' });
  const repo = auditRepository(ctx.db);
  const [provision, denied] = [await repo.list({ action: 'scim.provision', limit }), await repo.list({ action: 'scim.read', decision: 'deny', limit })];
  return [...provision, ...denied].sort((a, b) => b.id - a.id).slice(0, limit)
    .map((r) => ({ id: r.id, at: new Date(r.at).toISOString(), payload: JSON.parse(r.payload) as unknown }));
}
