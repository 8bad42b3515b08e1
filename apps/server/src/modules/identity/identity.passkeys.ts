/**
 * Passkeys (WebAuthn) as the second factor of a session, beside TOTP, with `@simplewebauthn/server`.
 * A challenge is handed to one session for one purpose and used once (deleted when verified, five
 * minutes at most): a replayed assertion finds no challenge. Signature, origin, RP id, challenge and
 * the signature counter are checked on every use; a counter that does not grow (a cloned
 * authenticator) is refused. A verified passkey marks the session MFA-verified exactly as a TOTP
 * code does. The first factor of a person without any (no TOTP, no passkey) may be registered right
 * after the password, as a first TOTP enrolment may; a further one, or a removal, needs a session
 * that is already MFA-verified. Every registration, use, refusal and removal is audited.
 */
import type {
  AuthenticationResponseJSON, AuthenticatorTransport, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { AppContext, WebAuthnSettings } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import { appendAudit, appendAuditAlone } from '../audit/index.ts';
import { identityRepository } from './identity.repository.ts';
import { invalidateActors } from './identity.cache.ts';
import type { Actor } from './identity.types.ts';

const CHALLENGE_MS = 5 * 60_000;

/** The library with its certificate parsers is loaded at the first passkey operation, not at every start of the command. */
const webauthn = () => import('@simplewebauthn/server');

export type PasskeyView = { id: string; name: string; createdAt: string; lastUsedAt: string | null; backedUp: boolean };

function settingsOf(ctx: AppContext): WebAuthnSettings {
  if (!ctx.webauthn) throw new AppError('auth.passkey_unavailable', 'Passkeys are not configured on this server (MAMORI_PUBLIC_URL).');
  return ctx.webauthn;
}

function personOf(actor: Actor): string {
  if (actor.kind !== 'user' || !actor.userId) throw new AppError('auth.required', 'Sign in first.');
  return actor.userId;
}

async function livePasskeys(ctx: AppContext, userId: string) {
  return ctx.db.selectFrom('webauthn_credentials').selectAll().where('user_id', '=', userId).where('removed_at', 'is', null).orderBy('created_at').execute();
}

async function putChallenge(ctx: AppContext, sessionHash: Buffer, purpose: 'register' | 'authenticate', challenge: string): Promise<void> {
  const expiresAt = new Date(ctx.clock.now().getTime() + CHALLENGE_MS);
  await ctx.db.insertInto('webauthn_challenges').values({ session_id: sessionHash, purpose, challenge, expires_at: expiresAt })
    .onConflict((oc) => oc.columns(['session_id', 'purpose']).doUpdateSet({ challenge, expires_at: expiresAt })).execute();
}

/** Takes the session's challenge for `purpose` (single use): null when there is none or it expired. */
async function takeChallenge(ctx: AppContext, sessionHash: Buffer, purpose: 'register' | 'authenticate'): Promise<string | null> {
  const row = await ctx.db.deleteFrom('webauthn_challenges').where('session_id', '=', sessionHash).where('purpose', '=', purpose).returning(['challenge', 'expires_at']).executeTakeFirst();
  if (!row || ctx.clock.now().getTime() >= new Date(row.expires_at).getTime()) return null;
  return row.challenge;
}

export async function listPasskeys(ctx: AppContext, actor: Actor): Promise<PasskeyView[]> {
  const userId = personOf(actor);
  return (await livePasskeys(ctx, userId)).map((c) => ({
    id: c.id, name: c.name, createdAt: new Date(c.created_at).toISOString(), lastUsedAt: c.last_used_at ? new Date(c.last_used_at).toISOString() : null, backedUp: c.backed_up,
  }));
}

/** Whether a person has any second factor yet (then a new one needs an MFA-verified session). */
async function hasSecondFactor(ctx: AppContext, userId: string): Promise<boolean> {
  const user = await identityRepository(ctx.db).userById(userId);
  return Boolean(user?.totp_enrolled_at) || (await livePasskeys(ctx, userId)).length > 0;
}

export async function passkeyRegistrationOptions(ctx: AppContext, actor: Actor, sessionHash: Buffer): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const s = settingsOf(ctx);
  const userId = personOf(actor);
  if (!actor.mfa && (await hasSecondFactor(ctx, userId))) {
    await appendAuditAlone(ctx.db, ctx.clock, actor, { action: 'auth.passkey.register', decision: 'deny', rule: 'mfa.required', reason: 'A further passkey needs a verified session', result: 'denied' });
    throw new AppError('auth.mfa_required', 'Verify this session with your current second factor before adding a passkey.');
  }
  const user = (await identityRepository(ctx.db).userById(userId))!;
  const { generateRegistrationOptions } = await webauthn();
  const options = await generateRegistrationOptions({
    rpName: s.rpName, rpID: s.rpId, userName: user.login, userDisplayName: user.display_name,
    userID: Buffer.from(user.id.replace(/-/g, ''), 'hex'),
    attestationType: 'none',
    excludeCredentials: (await livePasskeys(ctx, userId)).map((c) => ({ id: c.id, transports: c.transports as AuthenticatorTransport[] })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
  });
  await putChallenge(ctx, sessionHash, 'register', options.challenge);
  return options;
}

export async function registerPasskey(ctx: AppContext, actor: Actor, sessionHash: Buffer, name: string, response: RegistrationResponseJSON): Promise<PasskeyView> {
  const s = settingsOf(ctx);
  const userId = personOf(actor);
  const deny = async (rule: string, reason: string): Promise<never> => {
    await appendAuditAlone(ctx.db, ctx.clock, actor, { action: 'auth.passkey.register', decision: 'deny', rule, reason, result: 'denied' });
    throw new AppError('auth.passkey_invalid', 'The passkey could not be registered; try again.');
  };
  if (!actor.mfa && (await hasSecondFactor(ctx, userId))) return deny('mfa.required', 'A further passkey needs a verified session');
  const challenge = await takeChallenge(ctx, sessionHash, 'register');
  if (!challenge) return deny('auth.passkey_challenge', 'No live registration challenge for this session');
  const { verifyRegistrationResponse } = await webauthn();
  let info: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
  try {
    info = await verifyRegistrationResponse({ response, expectedChallenge: challenge, expectedOrigin: s.origin, expectedRPID: s.rpId, requireUserVerification: false });
  } catch {
    return deny('auth.passkey_bad_response', 'The registration response did not verify');
  }
  if (!info.verified || !info.registrationInfo) return deny('auth.passkey_bad_response', 'The registration response did not verify');
  const { credential, credentialDeviceType, credentialBackedUp } = info.registrationInfo;
  if (await ctx.db.selectFrom('webauthn_credentials').select('id').where('id', '=', credential.id).executeTakeFirst()) return deny('auth.passkey_exists', 'This passkey is already registered');
  const now = ctx.clock.now();
  const label = name.trim().slice(0, 60) || 'Passkey';
  await ctx.db.transaction().execute(async (tx) => {
    await tx.insertInto('webauthn_credentials').values({
      id: credential.id, user_id: userId, public_key: Buffer.from(credential.publicKey), counter: credential.counter, transports: credential.transports ?? [],
      device_type: credentialDeviceType, backed_up: credentialBackedUp, name: label, created_at: now, last_used_at: now, removed_at: null,
    }).execute();
    // Registering proves possession of the new factor: the session counts as verified, as after a first TOTP code.
    await identityRepository(tx).markSessionMfa(sessionHash, now);
    await appendAudit(tx, ctx.clock, actor, { action: 'auth.passkey.register', decision: 'allow', rule: 'auth.self', reason: 'Passkey registered', result: 'ok', details: { credential: credential.id.slice(0, 12), backedUp: credentialBackedUp } });
  });
  invalidateActors(ctx);
  return { id: credential.id, name: label, createdAt: now.toISOString(), lastUsedAt: now.toISOString(), backedUp: credentialBackedUp };
}

export async function passkeyAuthenticationOptions(ctx: AppContext, actor: Actor, sessionHash: Buffer): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const s = settingsOf(ctx);
  const userId = personOf(actor);
  const creds = await livePasskeys(ctx, userId);
  if (creds.length === 0) throw new AppError('auth.passkey_invalid', 'No passkey is registered for this account.');
  const { generateAuthenticationOptions } = await webauthn();
  const options = await generateAuthenticationOptions({
    rpID: s.rpId, userVerification: 'preferred',
    allowCredentials: creds.map((c) => ({ id: c.id, transports: c.transports as AuthenticatorTransport[] })),
  });
  await putChallenge(ctx, sessionHash, 'authenticate', options.challenge);
  return options;
}

/** Verifies an assertion and marks the session MFA-verified. */
export async function verifyPasskey(ctx: AppContext, actor: Actor, sessionHash: Buffer, response: AuthenticationResponseJSON): Promise<void> {
  const s = settingsOf(ctx);
  const userId = personOf(actor);
  const deny = async (rule: string, reason: string): Promise<never> => {
    await appendAuditAlone(ctx.db, ctx.clock, actor, { action: 'auth.passkey.verify', decision: 'deny', rule, reason, result: 'denied' });
    throw new AppError('auth.passkey_invalid', 'The passkey was not accepted.');
  };
  const challenge = await takeChallenge(ctx, sessionHash, 'authenticate');
  if (!challenge) return deny('auth.passkey_challenge', 'No live challenge for this session (expired or already used)');
  const cred = typeof response?.id === 'string'
    ? await ctx.db.selectFrom('webauthn_credentials').selectAll().where('id', '=', response.id).where('user_id', '=', userId).where('removed_at', 'is', null).executeTakeFirst()
    : undefined;
  if (!cred) return deny('auth.passkey_unknown', 'Not a live passkey of this account');
  const { verifyAuthenticationResponse } = await webauthn();
  let result: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
  try {
    result = await verifyAuthenticationResponse({
      response, expectedChallenge: challenge, expectedOrigin: s.origin, expectedRPID: s.rpId, requireUserVerification: false,
      credential: { id: cred.id, publicKey: new Uint8Array(cred.public_key), counter: Number(cred.counter), transports: cred.transports as AuthenticatorTransport[] },
    });
  } catch (err) {
    const counter = /counter/i.test((err as Error).message ?? '');
    return deny(counter ? 'auth.passkey_counter' : 'auth.passkey_bad_signature', counter ? 'The signature counter did not grow (possible cloned authenticator)' : 'The assertion did not verify');
  }
  if (!result.verified) return deny('auth.passkey_bad_signature', 'The assertion did not verify');
  const now = ctx.clock.now();
  await ctx.db.transaction().execute(async (tx) => {
    // Conditional on the counter read: two racing uses of one assertion cannot both pass.
    const r = await tx.updateTable('webauthn_credentials').set({ counter: result.authenticationInfo.newCounter, last_used_at: now })
      .where('id', '=', cred.id).where('counter', '=', Number(cred.counter)).executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw new AppError('auth.passkey_invalid', 'The passkey was not accepted.');
    await identityRepository(tx).markSessionMfa(sessionHash, now);
    await appendAudit(tx, ctx.clock, actor, { action: 'auth.passkey.verify', decision: 'allow', rule: 'auth.passkey', reason: 'Passkey verified', result: 'ok', details: { credential: cred.id.slice(0, 12) } });
  });
  invalidateActors(ctx);
}

export async function removePasskey(ctx: AppContext, actor: Actor, credentialId: string): Promise<void> {
  const userId = personOf(actor);
  if (!actor.mfa) {
    await appendAuditAlone(ctx.db, ctx.clock, actor, { action: 'auth.passkey.remove', decision: 'deny', rule: 'mfa.required', reason: 'Removing a passkey needs a verified session', result: 'denied' });
    throw new AppError('auth.mfa_required', 'Verify this session with your second factor before removing a passkey.');
  }
  await ctx.db.transaction().execute(async (tx) => {
    const r = await tx.updateTable('webauthn_credentials').set({ removed_at: ctx.clock.now() })
      .where('id', '=', credentialId).where('user_id', '=', userId).where('removed_at', 'is', null).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw new AppError('not_found', 'No such passkey.');
    await appendAudit(tx, ctx.clock, actor, { action: 'auth.passkey.remove', decision: 'allow', rule: 'auth.self', reason: 'Passkey removed', result: 'ok', details: { credential: credentialId.slice(0, 12) } });
  });
}

/** How many live passkeys each user has (for user views). */
export async function passkeyCounts(ctx: AppContext, userIds: readonly string[]): Promise<Map<string, number>> {
  if (userIds.length === 0) return new Map();
  const rows = await ctx.db.selectFrom('webauthn_credentials').select(['user_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('user_id', 'in', [...userIds]).where('removed_at', 'is', null).groupBy('user_id').execute();
  return new Map(rows.map((r) => [r.user_id, Number(r.n)]));
}
