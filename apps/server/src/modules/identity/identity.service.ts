/**
 * Identity: users, password login with lockout, TOTP, server-side sessions, API tokens, and the
 * status changes (suspend, retire) that revoke every credential in the same transaction.
 */
import type { EmploymentType, Role, UserStatus } from '@mamori/contracts';
import { randomBytes } from 'node:crypto';
import { AppError } from '../../platform/errors.ts';
import type { AppContext } from '../../platform/context.ts';
import type { Executor } from '../../platform/db/database.ts';
import { hashPassword, validatePasswordStrength, verifyPassword } from '../../platform/crypto/password.ts';
import { hashToken, newOpaqueToken } from '../../platform/crypto/tokens.ts';
import { generateTotpSecret, totpUri, verifyTotp } from '../../platform/crypto/totp.ts';
import { openSystemSecret, sealSystemSecret } from '../../platform/crypto/system-seal.ts';
import { newId, type UserId } from '../../platform/ids.ts';
import { appendAudit, appendAuditAlone } from '../audit/index.ts';
import { authorize } from '../access-policy/index.ts';
import { actorFromRow, anonymousActor } from './identity.actor.ts';
import { identityRepository, type SessionActorRow } from './identity.repository.ts';
import { actorCacheEpoch, cachedActorRow, forgetCredential, invalidateActors, rememberActorRow } from './identity.cache.ts';
import type { Actor, Terminal, UserView } from './identity.types.ts';
import { passkeyCounts } from './identity.passkeys.ts';

export const LOCKOUT_THRESHOLD = 5;
const LOCKOUT_MAX_MS = 60 * 60 * 1000;
/** A valid argon2id hash of a random password: verifying against it keeps unknown logins as slow as known ones. */
let dummyHash: Promise<string> | null = null;

export function lockoutDuration(failures: number): number {
  if (failures < LOCKOUT_THRESHOLD) return 0;
  return Math.min(60_000 * 2 ** (failures - LOCKOUT_THRESHOLD), LOCKOUT_MAX_MS);
}

type UserRow = NonNullable<Awaited<ReturnType<ReturnType<typeof identityRepository>['userById']>>>;

function toView(u: UserRow, roles: string[], groupIds: string[], passkeys: number): UserView {
  return {
    id: u.id,
    login: u.login,
    displayName: u.display_name,
    email: u.email,
    kind: u.kind,
    employmentType: u.employment_type as EmploymentType,
    departmentId: u.department_id,
    supervisorId: u.supervisor_id,
    status: u.status as UserStatus,
    roles: roles as Role[],
    groupIds,
    mfaEnrolled: u.totp_enrolled_at !== null,
    passkeys,
    passwordChangeRequired: u.password_change_required,
    createdAt: new Date(u.created_at).toISOString(),
    updatedAt: new Date(u.updated_at).toISOString(),
    version: u.version,
  };
}

export function sessionRefOf(sessionHash: Buffer): string {
  return sessionHash.subarray(0, 6).toString('hex');
}

// ---------------------------------------------------------------- credentials → actor

export type ResolvedSession = { actor: Actor; csrfToken: string; sessionHash: Buffer };

export async function resolveSession(ctx: AppContext, token: string, terminal: Terminal, requestId: string | null): Promise<ResolvedSession> {
  const hash = hashToken(token);
  const key = `s:${hash.toString('hex')}`;
  const now = ctx.clock.now();
  const repo = identityRepository(ctx.db);
  let row = cachedActorRow<SessionActorRow>(ctx, key, now.getTime());
  if (!row) {
    const epoch = actorCacheEpoch(ctx);
    row = await repo.sessionActor(hash);
    if (row && !row.revoked_at && row.status === 'active') rememberActorRow(ctx, key, row, epoch, now.getTime());
  }
  if (!row) throw new AppError('auth.required', 'Sign in first.');
  if (row.revoked_at || row.status !== 'active') {
    throw new AppError('auth.session_revoked', 'This session has ended (signed out, revoked or the account is no longer active).');
  }
  const idleLimit = new Date(row.last_seen_at).getTime() + ctx.settings.sessionIdleMinutes * 60_000;
  if (now.getTime() >= new Date(row.expires_at).getTime() || now.getTime() >= idleLimit) {
    forgetCredential(ctx, key);
    throw new AppError('auth.session_revoked', 'This session has expired. Sign in again.');
  }
  // Refresh the idle timer at most once a minute: a write per request would halve read throughput.
  if (now.getTime() - new Date(row.last_seen_at).getTime() > 60_000) {
    await repo.touchSession(hash, now);
    row.last_seen_at = now;
  }
  const actor = actorFromRow(row, { sessionRef: sessionRefOf(hash), tokenId: null, mfa: row.mfa_at !== null, terminal, requestId });
  return { actor: { ...actor, credential: { kind: 'session', hash } }, csrfToken: row.csrf_token, sessionHash: hash };
}

export async function resolveApiToken(ctx: AppContext, token: string, terminal: Terminal, requestId: string | null): Promise<Actor> {
  const hash = hashToken(token);
  const key = `t:${hash.toString('hex')}`;
  const now = ctx.clock.now();
  type TokenRow = NonNullable<Awaited<ReturnType<ReturnType<typeof identityRepository>['tokenActor']>>>;
  let row = cachedActorRow<TokenRow>(ctx, key, now.getTime());
  if (!row) {
    const epoch = actorCacheEpoch(ctx);
    row = await identityRepository(ctx.db).tokenActor(hash);
    if (row && !row.token_revoked_at && row.status === 'active') rememberActorRow(ctx, key, row, epoch, now.getTime());
  }
  if (!row) throw new AppError('auth.required', 'Unknown API token.');
  if (row.token_revoked_at || row.status !== 'active' || (row.token_expires_at && now >= new Date(row.token_expires_at))) {
    forgetCredential(ctx, key);
    throw new AppError('auth.session_revoked', 'This API token has been revoked or has expired.');
  }
  // A token is issued by an administrator with MFA to a registered account: it stands as a second
  // factor, and it is a credential of its own, so the one-time *password* rule does not apply to it.
  const actor = actorFromRow(row, { sessionRef: null, tokenId: row.token_id, mfa: true, terminal, requestId });
  return { ...actor, passwordChangeRequired: false, credential: { kind: 'token', hash } };
}

// ---------------------------------------------------------------- login / logout / password / MFA

/** The cookie token of a new session, its stored hash, and its CSRF token. */
export function newSessionSecrets(): { token: string; hash: Buffer; csrfToken: string } {
  const token = newOpaqueToken('mms');
  return { token, hash: hashToken(token), csrfToken: randomBytes(24).toString('base64url') };
}

export function sessionExpiry(ctx: AppContext, now: Date): Date {
  return new Date(now.getTime() + ctx.settings.sessionAbsoluteHours * 3_600_000);
}

export type LoginResult = { token: string; csrfToken: string; user: UserView; mfaRequired: boolean };

/**
 * The password check shared by the console login and the SMTP submission port: unknown logins cost
 * the same argon2 time, lockout after repeated failures, every failure audited. Returns the user.
 */
async function checkPassword(ctx: AppContext, loginName: string, password: string, terminal: Terminal, requestId: string | null) {
  const repo = identityRepository(ctx.db);
  const now = ctx.clock.now();
  const user = await repo.userByLogin(loginName);
  if (!user || user.kind !== 'person' || !user.password_hash) {
    dummyHash ??= hashPassword(randomBytes(24).toString('base64'));
    await verifyPassword(await dummyHash, password);
    await appendAuditAlone(ctx.db, ctx.clock, anonymousActor(terminal, requestId), {
      action: 'auth.login', decision: 'deny', rule: 'auth.unknown_login', reason: 'Unknown login', result: 'denied',
    });
    throw new AppError('auth.invalid_credentials', 'The login or password is wrong.');
  }
  const actor = anonymousActor(terminal, requestId, user.id);
  if (user.locked_until && now < new Date(user.locked_until)) {
    const retryAfterSeconds = Math.ceil((new Date(user.locked_until).getTime() - now.getTime()) / 1000);
    await appendAuditAlone(ctx.db, ctx.clock, actor, { action: 'auth.login', decision: 'deny', rule: 'auth.locked', reason: 'Account temporarily locked', result: 'denied' });
    throw new AppError('auth.locked', 'Too many failed attempts: the account is locked for a while.', { retryAfterSeconds });
  }
  const ok = await verifyPassword(user.password_hash, password);
  if (!ok || user.status !== 'active') {
    await ctx.db.transaction().execute(async (tx) => {
      if (!ok) {
        const failures = user.failed_logins + 1;
        const lockMs = lockoutDuration(failures);
        await tx.updateTable('users').set({ failed_logins: failures, locked_until: lockMs > 0 ? new Date(now.getTime() + lockMs) : null }).where('id', '=', user.id).execute();
      }
      await appendAudit(tx, ctx.clock, actor, {
        action: 'auth.login', decision: 'deny', rule: ok ? 'actor.inactive' : 'auth.bad_password', reason: ok ? 'User not active' : 'Wrong password', result: 'denied',
        details: { failures: ok ? user.failed_logins : user.failed_logins + 1 },
      });
    });
    throw new AppError('auth.invalid_credentials', 'The login or password is wrong.');
  }
  return user;
}

export async function login(ctx: AppContext, loginName: string, password: string, terminal: Terminal, requestId: string | null): Promise<LoginResult> {
  const repo = identityRepository(ctx.db);
  const now = ctx.clock.now();
  const user = await checkPassword(ctx, loginName, password, terminal, requestId);
  const actor = anonymousActor(terminal, requestId, user.id);
  const { token, hash, csrfToken } = newSessionSecrets();
  await ctx.db.transaction().execute(async (tx) => {
    await tx.updateTable('users').set({ failed_logins: 0, locked_until: null }).where('id', '=', user.id).execute();
    await identityRepository(tx).insertSession({ hash, userId: user.id, csrfToken, at: now, expiresAt: sessionExpiry(ctx, now), mfaAt: null, terminal });
    await appendAudit(tx, ctx.clock, { ...actor, sessionRef: sessionRefOf(hash) }, {
      action: 'auth.login', decision: 'allow', rule: 'auth.password', reason: 'Password verified', result: 'ok',
    });
  });
  const view = toView(user, await repo.rolesOf(user.id), await repo.groupsOf(user.id), (await passkeyCounts(ctx, [user.id])).get(user.id) ?? 0);
  return { token, csrfToken, user: view, mfaRequired: true };
}

/**
 * A mail client on the SMTP submission port signs in with the login and either an API token of that
 * user (a second factor, as on the API) or the user's password (one factor: the actor has no MFA, so
 * what it submits waits for the sender's confirmation in the console). Same lockout and audit as the
 * console; no session is created.
 */
export async function authenticateSubmission(ctx: AppContext, loginName: string, secret: string, terminal: Terminal): Promise<Actor> {
  if (secret.startsWith('mmt_')) {
    const actor: Actor | null = await resolveApiToken(ctx, secret, terminal, null).catch(() => null);
    if (!actor || actor.login !== loginName || actor.kind !== 'user') {
      await appendAuditAlone(ctx.db, ctx.clock, anonymousActor(terminal, null, actor?.userId ?? null), {
        action: 'auth.login', decision: 'deny', rule: 'auth.bad_token', reason: 'Unknown, revoked or foreign API token on the submission port', result: 'denied', details: { channel: 'smtp' },
      });
      throw new AppError('auth.invalid_credentials', 'The login or token is wrong.');
    }
    await appendAuditAlone(ctx.db, ctx.clock, actor, { action: 'auth.login', decision: 'allow', rule: 'auth.token', reason: 'API token verified (SMTP submission)', result: 'ok', details: { channel: 'smtp' } });
    return actor;
  }
  const user = await checkPassword(ctx, loginName, secret, terminal, null);
  const row = await identityRepository(ctx.db).userActor(user.id);
  if (!row) throw new AppError('auth.invalid_credentials', 'The login or password is wrong.');
  const actor = actorFromRow(row, { sessionRef: null, tokenId: null, mfa: false, terminal, requestId: null });
  await ctx.db.transaction().execute(async (tx) => {
    await tx.updateTable('users').set({ failed_logins: 0, locked_until: null }).where('id', '=', user.id).execute();
    await appendAudit(tx, ctx.clock, actor, { action: 'auth.login', decision: 'allow', rule: 'auth.password', reason: 'Password verified (SMTP submission, one factor)', result: 'ok', details: { channel: 'smtp' } });
  });
  return actor;
}

export async function logout(ctx: AppContext, actor: Actor, sessionHash: Buffer): Promise<void> {
  await ctx.db.transaction().execute(async (tx) => {
    await tx.updateTable('sessions').set({ revoked_at: ctx.clock.now(), revoked_reason: 'logout' }).where('id', '=', sessionHash).execute();
    await appendAudit(tx, ctx.clock, actor, { action: 'auth.logout', decision: 'allow', rule: 'auth.self', reason: 'Signed out', result: 'ok' });
  });
  invalidateActors(ctx);
}

export async function changePassword(ctx: AppContext, actor: Actor, current: string, next: string): Promise<void> {
  if (!actor.userId) throw new AppError('auth.required', 'Sign in first.');
  const weak = validatePasswordStrength(next);
  if (weak) throw new AppError(weak, weak === 'password.too_short' ? 'The new password must be at least 12 characters.' : 'The new password is too long.');
  const user = await identityRepository(ctx.db).userById(actor.userId);
  if (!user?.password_hash || !(await verifyPassword(user.password_hash, current))) {
    await appendAuditAlone(ctx.db, ctx.clock, actor, { action: 'auth.password.change', decision: 'deny', rule: 'auth.bad_password', reason: 'Current password wrong', result: 'denied' });
    throw new AppError('auth.invalid_credentials', 'The current password is wrong.');
  }
  if (await verifyPassword(user.password_hash, next)) throw new AppError('password.reused', 'Choose a password different from the current one.');
  const hash = await hashPassword(next);
  await ctx.db.transaction().execute(async (tx) => {
    await tx.updateTable('users').set({ password_hash: hash, password_change_required: false, updated_at: ctx.clock.now() }).where('id', '=', user.id).execute();
    await appendAudit(tx, ctx.clock, actor, { action: 'auth.password.change', decision: 'allow', rule: 'auth.self', reason: 'Password changed', result: 'ok' });
  });
  invalidateActors(ctx);
}

export async function beginTotpEnrollment(ctx: AppContext, actor: Actor): Promise<{ secret: string; uri: string }> {
  if (!actor.userId || actor.kind !== 'user') throw new AppError('auth.required', 'Sign in first.');
  const user = await identityRepository(ctx.db).userById(actor.userId);
  if (!user) throw new AppError('auth.required', 'Sign in first.');
  if (user.totp_enrolled_at) throw new AppError('auth.mfa_already_enrolled', 'An authenticator is already registered.');
  const secret = generateTotpSecret();
  const sealed = sealSystemSecret(ctx.keyring, 'totp', Buffer.from(secret, 'utf8'), user.id);
  await ctx.db.transaction().execute(async (tx) => {
    await tx.updateTable('users').set({ totp_secret_sealed: sealed, totp_last_step: null }).where('id', '=', user.id).execute();
    await appendAudit(tx, ctx.clock, actor, { action: 'auth.mfa.enroll', decision: 'allow', rule: 'auth.self', reason: 'TOTP enrolment started', result: 'ok' });
  });
  return { secret, uri: totpUri(secret, user.login) };
}

/** Verifies a TOTP code and marks the session as MFA-verified (completing enrolment on first use). */
export async function verifyTotpForSession(ctx: AppContext, actor: Actor, sessionHash: Buffer, code: string): Promise<void> {
  if (!actor.userId) throw new AppError('auth.required', 'Sign in first.');
  const user = await identityRepository(ctx.db).userById(actor.userId);
  if (!user?.totp_secret_sealed) throw new AppError('auth.mfa_invalid', 'Register an authenticator first.');
  const secret = openSystemSecret(ctx.keyring, 'totp', user.totp_secret_sealed, user.id).toString('utf8');
  const now = ctx.clock.now();
  const result = verifyTotp(secret, code, now, user.totp_last_step);
  if (!result.ok) {
    await appendAuditAlone(ctx.db, ctx.clock, actor, { action: 'auth.mfa.verify', decision: 'deny', rule: 'auth.bad_totp', reason: 'Wrong or reused code', result: 'denied' });
    throw new AppError('auth.mfa_invalid', 'The code is wrong or was already used.');
  }
  await ctx.db.transaction().execute(async (tx) => {
    await tx.updateTable('users').set({ totp_last_step: result.step, totp_enrolled_at: user.totp_enrolled_at ?? now }).where('id', '=', user.id).execute();
    await tx.updateTable('sessions').set({ mfa_at: now }).where('id', '=', sessionHash).execute();
    await appendAudit(tx, ctx.clock, actor, { action: 'auth.mfa.verify', decision: 'allow', rule: 'auth.totp', reason: user.totp_enrolled_at ? 'TOTP verified' : 'TOTP enrolled and verified', result: 'ok' });
  });
  invalidateActors(ctx);
}

// ---------------------------------------------------------------- user administration

export type CreateUserInput = {
  login: string;
  displayName: string;
  email?: string | null;
  kind?: 'person' | 'service';
  employmentType: EmploymentType;
  departmentId?: string | null;
  supervisorId?: string | null;
  roles?: Role[];
  groupIds?: string[];
  /** Omitted → a one-time password is generated and returned once; change forced at first login. */
  password?: string;
};

export async function createUser(ctx: AppContext, actor: Actor, input: CreateUserInput): Promise<{ user: UserView; oneTimePassword: string | null }> {
  await authorize(ctx, { actor, action: 'user.create' });
  const repo = identityRepository(ctx.db);
  if (await repo.userByLogin(input.login)) throw new AppError('user.exists', 'A user with this login already exists.');
  if (input.supervisorId && !(await repo.userById(input.supervisorId))) throw new AppError('request.invalid', 'The supervisor does not exist.', { field: 'supervisorId' });
  const kind = input.kind ?? 'person';
  let oneTimePassword: string | null = null;
  let passwordHash: string | null = null;
  if (kind === 'person') {
    if (input.password !== undefined) {
      const weak = validatePasswordStrength(input.password);
      if (weak) throw new AppError(weak, 'The password must be 12 to 256 characters.');
      passwordHash = await hashPassword(input.password);
    } else {
      oneTimePassword = randomBytes(12).toString('base64url');
      passwordHash = await hashPassword(oneTimePassword);
    }
  }
  const now = ctx.clock.now();
  const id = newId<'UserId'>();
  await ctx.db.transaction().execute(async (tx) => {
    await tx.insertInto('users').values({
      id, login: input.login, display_name: input.displayName, email: input.email ?? null, kind,
      employment_type: input.employmentType, department_id: input.departmentId ?? null, supervisor_id: input.supervisorId ?? null,
      status: 'active', status_changed_at: now, password_hash: passwordHash, password_change_required: oneTimePassword !== null,
      totp_secret_sealed: null, totp_enrolled_at: null, totp_last_step: null, locked_until: null, created_at: now, updated_at: now,
    }).execute();
    const r = identityRepository(tx);
    await r.setRoles(id, input.roles ?? [], now);
    await r.setGroups(id, input.groupIds ?? []);
    await appendAudit(tx, ctx.clock, actor, {
      action: 'user.create', decision: 'allow', rule: 'role.allowed', reason: 'User created', result: 'ok', subjectUserId: id,
      details: { employmentType: input.employmentType, roles: input.roles ?? [], kind },
    });
  });
  return { user: (await getUser(ctx, actor, id, { skipAuth: true }))!, oneTimePassword };
}

export type UpdateUserInput = Partial<Pick<CreateUserInput, 'displayName' | 'email' | 'employmentType' | 'departmentId' | 'supervisorId' | 'roles' | 'groupIds'>> & { version?: number };

/**
 * What an identity change sets off (leavers, movers, dispatch workers), run inside the change's
 * transaction. The lifecycle module provides it (`lifecycle.consequences`); identity does not know
 * the modules those consequences reach (grants, approvals, door controllers, notifications).
 */
export type UserConsequences = {
  leave(tx: Executor, actor: Actor, userId: string, opts: { status: 'suspended' | 'retired'; cause: 'console.suspend' | 'console.retire'; extra?: Record<string, unknown> }): Promise<unknown>;
  move(tx: Executor, actor: Actor, userId: string, before: { departmentId: string | null; supervisorId: string | null }, after: { departmentId: string | null; supervisorId: string | null }): Promise<number>;
  becomeDispatch(tx: Executor, actor: Actor, userId: string): Promise<number>;
};

export async function updateUser(ctx: AppContext, actor: Actor, id: string, patch: UpdateUserInput, consequences: UserConsequences): Promise<UserView> {
  await authorize(ctx, { actor, action: 'user.update' }, { subjectUserId: id });
  const repo = identityRepository(ctx.db);
  const user = await repo.userById(id);
  if (!user) throw new AppError('not_found', 'No such user.');
  if (patch.version !== undefined && patch.version !== user.version) throw new AppError('conflict', 'The user was changed meanwhile; reload and try again.');
  if (patch.supervisorId === id) throw new AppError('request.invalid', 'A user cannot supervise themselves.', { field: 'supervisorId' });
  if (patch.supervisorId && !(await repo.userById(patch.supervisorId))) throw new AppError('request.invalid', 'The supervisor does not exist.', { field: 'supervisorId' });
  const now = ctx.clock.now();
  await ctx.db.transaction().execute(async (tx) => {
    const locked = await tx.selectFrom('users').select(['version', 'employment_type', 'department_id', 'supervisor_id']).where('id', '=', id).forUpdate().executeTakeFirstOrThrow();
    if (patch.version !== undefined && patch.version !== locked.version) throw new AppError('conflict', 'The user was changed meanwhile; reload and try again.');
    await tx.updateTable('users').set({
      ...(patch.displayName !== undefined ? { display_name: patch.displayName } : {}),
      ...(patch.email !== undefined ? { email: patch.email } : {}),
      ...(patch.employmentType !== undefined ? { employment_type: patch.employmentType } : {}),
      ...(patch.departmentId !== undefined ? { department_id: patch.departmentId } : {}),
      ...(patch.supervisorId !== undefined ? { supervisor_id: patch.supervisorId } : {}),
      updated_at: now,
      version: locked.version + 1,
    }).where('id', '=', id).execute();
    const r = identityRepository(tx);
    if (patch.roles) await r.setRoles(id, patch.roles, now);
    if (patch.groupIds) await r.setGroups(id, patch.groupIds);
    await appendAudit(tx, ctx.clock, actor, {
      action: 'user.update', decision: 'allow', rule: 'role.allowed', reason: 'User updated', result: 'ok', subjectUserId: id,
      details: { changed: Object.keys(patch).filter((k) => k !== 'version') },
    });
    // The same consequences as a change sent by the IdP (SCIM): one transaction with the edit.
    if (patch.employmentType === 'dispatch' && locked.employment_type !== 'dispatch') await consequences.becomeDispatch(tx, actor, id);
    const before = { departmentId: locked.department_id, supervisorId: locked.supervisor_id };
    const after = { departmentId: patch.departmentId !== undefined ? patch.departmentId : before.departmentId, supervisorId: patch.supervisorId !== undefined ? patch.supervisorId : before.supervisorId };
    await consequences.move(tx, actor, id, before, after);
  });
  invalidateActors(ctx);
  return (await getUser(ctx, actor, id, { skipAuth: true }))!;
}

/**
 * Suspending or retiring someone in the console is a leaver, exactly as through SCIM: status,
 * sessions, tokens, grants, requests, approvals, door cards and the security center's alert, in one
 * transaction (`consequences.leave`). Reactivating a suspended user restores the status only: their
 * suspended grants stay suspended until a data owner grants again. A retired user stays retired.
 */
export async function setUserStatus(ctx: AppContext, actor: Actor, id: string, status: UserStatus, reason: string, consequences: UserConsequences): Promise<UserView> {
  await authorize(ctx, { actor, action: 'user.status.change' }, { subjectUserId: id });
  if (actor.userId === id && status !== 'active') throw new AppError('request.invalid', 'You cannot retire or suspend yourself.');
  const user = await identityRepository(ctx.db).userById(id);
  if (!user) throw new AppError('not_found', 'No such user.');
  if (user.status === 'retired' && status !== 'retired') throw new AppError('conflict', 'A retired user cannot be brought back; create a new account.');
  const now = ctx.clock.now();
  const note = reason.slice(0, 500);
  await ctx.db.transaction().execute(async (tx) => {
    const locked = await tx.selectFrom('users').select(['status', 'version']).where('id', '=', id).forUpdate().executeTakeFirstOrThrow();
    if (locked.status === status) throw new AppError('conflict', `The user is already ${status}.`);
    if (status === 'active') {
      await tx.updateTable('users').set({ status, status_changed_at: now, updated_at: now, version: locked.version + 1 }).where('id', '=', id).execute();
      await appendAudit(tx, ctx.clock, actor, {
        action: 'user.status.change', decision: 'allow', rule: 'role.allowed', reason: note || 'Reactivated', result: 'ok', subjectUserId: id,
        details: { from: locked.status, to: status },
      });
    } else {
      await consequences.leave(tx, actor, id, { status, cause: status === 'retired' ? 'console.retire' : 'console.suspend', extra: { note } });
    }
  });
  invalidateActors(ctx);
  return (await getUser(ctx, actor, id, { skipAuth: true }))!;
}

export async function getUser(ctx: AppContext, actor: Actor, id: string, opts: { skipAuth?: boolean } = {}): Promise<UserView | null> {
  if (!opts.skipAuth && actor.userId !== id) await authorize(ctx, { actor, action: 'user.read' }, { subjectUserId: id });
  const repo = identityRepository(ctx.db);
  const u = await repo.userById(id);
  if (!u) return null;
  return toView(u, await repo.rolesOf(id), await repo.groupsOf(id), (await passkeyCounts(ctx, [id])).get(id) ?? 0);
}

export async function listUsers(ctx: AppContext, actor: Actor, limit: number, offset: number): Promise<UserView[]> {
  await authorize(ctx, { actor, action: 'user.read' });
  const repo = identityRepository(ctx.db);
  const rows = await repo.listUsers(limit, offset);
  const { roles, groups } = await repo.rolesAndGroupsOf(rows.map((u) => u.id));
  const passkeys = await passkeyCounts(ctx, rows.map((u) => u.id));
  return rows.map((u) => toView(u, roles.get(u.id) ?? [], groups.get(u.id) ?? [], passkeys.get(u.id) ?? 0));
}

export async function findUserByLogin(ctx: AppContext, loginName: string): Promise<UserView | null> {
  const repo = identityRepository(ctx.db);
  const u = await repo.userByLogin(loginName);
  return u ? toView(u, await repo.rolesOf(u.id), await repo.groupsOf(u.id), (await passkeyCounts(ctx, [u.id])).get(u.id) ?? 0) : null;
}

// ---------------------------------------------------------------- API tokens

export async function createApiToken(ctx: AppContext, actor: Actor, input: { userId: string; name: string; expiresAt?: Date | null }): Promise<{ id: string; token: string }> {
  await authorize(ctx, { actor, action: 'token.create' }, { subjectUserId: input.userId });
  const user = await identityRepository(ctx.db).userById(input.userId);
  if (!user || user.status !== 'active') throw new AppError('user.not_active', 'Tokens can only be issued to active users.');
  const token = newOpaqueToken('mmt');
  const id = newId<'TokenId'>();
  const now = ctx.clock.now();
  await ctx.db.transaction().execute(async (tx) => {
    await tx.insertInto('api_tokens').values({
      id, user_id: input.userId, name: input.name, token_hash: hashToken(token), created_at: now, created_by: actor.userId,
      expires_at: input.expiresAt ?? null, revoked_at: null, last_used_at: null,
    }).execute();
    await appendAudit(tx, ctx.clock, actor, { action: 'token.create', decision: 'allow', rule: 'role.allowed', reason: 'API token issued', result: 'ok', subjectUserId: input.userId, details: { tokenId: id } });
  });
  return { id, token };
}

export async function revokeApiToken(ctx: AppContext, actor: Actor, tokenId: string): Promise<void> {
  await authorize(ctx, { actor, action: 'token.revoke' });
  await ctx.db.transaction().execute(async (tx) => {
    const res = await tx.updateTable('api_tokens').set({ revoked_at: ctx.clock.now() }).where('id', '=', tokenId).where('revoked_at', 'is', null).executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw new AppError('not_found', 'No such live token.');
    await appendAudit(tx, ctx.clock, actor, { action: 'token.revoke', decision: 'allow', rule: 'role.allowed', reason: 'API token revoked', result: 'ok', details: { tokenId } });
  });
  invalidateActors(ctx);
}

export type { UserId };

// ---------------------------------------------------------------- groups

export type GroupView = { id: string; name: string; memberIds: string[] };

export async function createGroup(ctx: AppContext, actor: Actor, name: string, memberIds: string[] = []): Promise<GroupView> {
  await authorize(ctx, { actor, action: 'user.update' });
  const exists = await ctx.db.selectFrom('groups').select('id').where('name', '=', name).executeTakeFirst();
  if (exists) throw new AppError('conflict', 'A group with this name exists.');
  const id = newId<'GroupId'>();
  await ctx.db.transaction().execute(async (tx) => {
    await tx.insertInto('groups').values({ id, name, created_at: ctx.clock.now() }).execute();
    if (memberIds.length > 0) {
      const found = await tx.selectFrom('users').select('id').where('id', 'in', memberIds).execute();
      if (found.length !== new Set(memberIds).size) throw new AppError('request.invalid', 'Unknown member.', { field: 'memberIds' });
      await tx.insertInto('group_members').values([...new Set(memberIds)].map((user_id) => ({ group_id: id, user_id }))).execute();
    }
    await appendAudit(tx, ctx.clock, actor, { action: 'user.update', decision: 'allow', rule: 'role.allowed', reason: 'Group created', result: 'ok', details: { groupId: id, members: memberIds.length } });
  });
  invalidateActors(ctx);
  return { id, name, memberIds: [...new Set(memberIds)] };
}

export async function listGroups(ctx: AppContext, actor: Actor): Promise<GroupView[]> {
  await authorize(ctx, { actor, action: 'user.read' });
  const groups = await ctx.db.selectFrom('groups').select(['id', 'name']).orderBy('name').execute();
  const members = await ctx.db.selectFrom('group_members').select(['group_id', 'user_id']).execute();
  return groups.map((g) => ({ ...g, memberIds: members.filter((m) => m.group_id === g.id).map((m) => m.user_id) }));
}

// ---------------------------------------------------------------- departments

export async function listDepartments(ctx: AppContext, actor: Actor): Promise<{ id: string; name: string }[]> {
  await authorize(ctx, { actor, action: 'user.read' });
  return ctx.db.selectFrom('departments').select(['id', 'name']).orderBy('name').execute();
}

export async function createDepartment(ctx: AppContext, actor: Actor, name: string): Promise<{ id: string; name: string }> {
  await authorize(ctx, { actor, action: 'user.update' });
  if (await ctx.db.selectFrom('departments').select('id').where('name', '=', name).executeTakeFirst()) throw new AppError('conflict', 'A department with this name exists.');
  const id = newId<'DepartmentId'>();
  await ctx.db.transaction().execute(async (tx) => {
    await tx.insertInto('departments').values({ id, name, created_at: ctx.clock.now() }).execute();
    await appendAudit(tx, ctx.clock, actor, { action: 'user.update', decision: 'allow', rule: 'role.allowed', reason: 'Department created', result: 'ok', details: { departmentId: id } });
  });
  return { id, name };
}
