/**
 * Sign-in through the company IdP with OpenID Connect: authorization code flow with PKCE (S256),
 * state and nonce, by `openid-client`. Nobody is created here: the IdP's account must belong to a
 * Mamori user already provisioned (SCIM), active and a person. Matching, in this order:
 *   1. the subject (`sub`) bound to the user at an earlier SSO login;
 *   2. the configured claim (`sub` for Okta, `oid` for Entra ID) equal to the user's SCIM externalId;
 *   3. only when allowed (MAMORI_OIDC_MATCH_EMAIL), the e-mail claim equal to the user's login or
 *      e-mail address, and only when exactly one user matches.
 * A first match binds the subject, so a reassigned e-mail address cannot take an account over later.
 * Group → role mapping is applied at each login (only the roles named in the mapping are managed);
 * the ID token's `amr`/`acr` marks the session MFA-verified when it names a configured value;
 * otherwise Mamori's own second factor (TOTP or a passkey) is still asked for. Every success and
 * refusal is audited, with no claim value (no e-mail, no name, no subject) in the event or the log.
 */
import * as oidc from 'openid-client';
import type { Role } from '@mamori/contracts';
import type { AppContext, OidcSettings } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import { hashToken, newOpaqueToken } from '../../platform/crypto/tokens.ts';
import { tlsFetch } from '../../platform/http/tls-fetch.ts';
import { appendAudit, appendAuditAlone } from '../audit/index.ts';
import { anonymousActor } from './identity.actor.ts';
import { identityRepository } from './identity.repository.ts';
import { invalidateActors } from './identity.cache.ts';
import { newSessionSecrets, sessionExpiry, sessionRefOf } from './identity.service.ts';
import type { Terminal } from './identity.types.ts';

/** A sign-in started at the IdP must come back within this time. */
export const OIDC_FLOW_MINUTES = 10;

const configurations = new WeakMap<AppContext, Promise<oidc.Configuration>>();

function settingsOf(ctx: AppContext): OidcSettings {
  if (!ctx.oidc) throw new AppError('auth.sso_unavailable', 'Sign-in with the company IdP is not configured.');
  return ctx.oidc;
}

/** The IdP's metadata (discovery), fetched once and kept; a failure is retried at the next sign-in. */
async function configurationOf(ctx: AppContext): Promise<oidc.Configuration> {
  const s = settingsOf(ctx);
  let p = configurations.get(ctx);
  if (!p) {
    p = oidc.discovery(
      new URL(s.issuer), s.clientId,
      { client_secret: s.clientSecret, redirect_uris: [s.redirectUrl], response_types: ['code'] },
      oidc.ClientSecretPost(s.clientSecret),
      { [oidc.customFetch]: tlsFetch({ ca: s.ca }), timeout: 15 },
    );
    configurations.set(ctx, p);
    p.catch(() => configurations.delete(ctx));
  }
  try {
    return await p;
  } catch (err) {
    ctx.logger.warn({ err: { message: (err as Error).message, code: (err as { code?: unknown }).code } }, 'OIDC discovery failed');
    throw new AppError('auth.sso_unavailable', 'The company IdP cannot be reached; try again later or sign in with a password.');
  }
}

/** What the console's login page shows: whether SSO is on, and the IdP's name for the button. */
export function ssoInfo(ctx: AppContext): { enabled: boolean; label: string | null } {
  return ctx.oidc ? { enabled: true, label: ctx.oidc.label } : { enabled: false, label: null };
}

/**
 * Starts a sign-in: a random flow token for the browser's cookie, and state, nonce and PKCE
 * verifier kept server-side under the token's hash. Returns where to send the browser.
 */
export async function startOidcLogin(ctx: AppContext): Promise<{ flowToken: string; url: string }> {
  const s = settingsOf(ctx);
  const config = await configurationOf(ctx);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const flowToken = newOpaqueToken('mof');
  const now = ctx.clock.now();
  await ctx.db.deleteFrom('oidc_flows').where('expires_at', '<', now).execute();
  await ctx.db.insertInto('oidc_flows').values({
    id: hashToken(flowToken), state, nonce, code_verifier: verifier, created_at: now, expires_at: new Date(now.getTime() + OIDC_FLOW_MINUTES * 60_000),
  }).execute();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: s.redirectUrl, scope: s.scopes, state, nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  return { flowToken, url: url.href };
}

export type OidcLoginResult = { token: string; csrfToken: string; mfa: boolean };

type Claims = Record<string, unknown>;

/** The user a verified IdP account belongs to, or null. Never creates one. */
async function matchUser(ctx: AppContext, s: OidcSettings, sub: string, claims: Claims) {
  const db = ctx.db;
  const bound = await db.selectFrom('users').selectAll().where('oidc_subject', '=', sub).executeTakeFirst();
  if (bound) return { user: bound, how: 'subject' as const };
  const key = claims[s.matchClaim];
  if (typeof key === 'string' && key.length > 0) {
    const byExternal = await db.selectFrom('users').selectAll().where('external_id', '=', key).where('scim_deleted_at', 'is', null).execute();
    if (byExternal.length === 1) return { user: byExternal[0]!, how: 'externalId' as const };
  }
  const email = claims.email;
  if (s.matchEmail && typeof email === 'string' && email.includes('@') && claims.email_verified !== false) {
    const e = email.toLowerCase();
    const rows = await db.selectFrom('users').selectAll()
      .where((eb) => eb.or([eb(eb.fn('lower', ['login']), '=', e), eb(eb.fn('lower', ['email']), '=', e)]))
      .where('scim_deleted_at', 'is', null).execute();
    if (rows.length === 1) return { user: rows[0]!, how: 'email' as const };
  }
  return null;
}

function stringList(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** The roles the mapping gives for these groups, and the roles the mapping manages at all. */
export function mappedRoles(mapping: Readonly<Record<string, readonly Role[]>>, groups: readonly string[]): { managed: Set<Role>; wanted: Set<Role> } {
  const managed = new Set<Role>(Object.values(mapping).flat());
  const wanted = new Set<Role>(groups.flatMap((g) => mapping[g] ?? []));
  return { managed, wanted };
}

/** Whether the IdP says it used more than one factor (a configured `amr` or `acr` value). */
export function idpMfa(s: Pick<OidcSettings, 'mfaAmr' | 'mfaAcr'>, idToken: Claims): boolean {
  const amr = stringList(idToken.amr);
  const acr = typeof idToken.acr === 'string' ? idToken.acr : null;
  return amr.some((a) => s.mfaAmr.includes(a)) || (acr !== null && s.mfaAcr.includes(acr));
}

/** Classifies a failed code exchange or ID-token check for the audit record (no values). */
function failureRule(err: unknown): string {
  const chain: { message?: unknown; error?: unknown; cause?: unknown }[] = [];
  for (let e = err as { cause?: unknown } | undefined, i = 0; e && typeof e === 'object' && i < 4; e = e.cause as typeof e, i++) chain.push(e);
  const text = chain.map((e) => (typeof e.message === 'string' ? e.message : '')).join(' ');
  if (/"state"/.test(text)) return 'auth.oidc_state';
  if (/"nonce"/.test(text)) return 'auth.oidc_nonce';
  if (chain.some((e) => e.error === 'invalid_grant')) return 'auth.oidc_code_rejected';
  return 'auth.oidc_token_failed';
}

/**
 * Finishes a sign-in at the callback: the flow is taken once (its cookie's row is deleted), the
 * code is exchanged with the PKCE verifier, the ID token checked (issuer, audience, signature,
 * expiry, nonce), the user matched, roles mapped and a session opened — or the attempt is refused
 * and audited. `callbackQuery` is the callback's query string as the browser brought it.
 */
export async function finishOidcLogin(ctx: AppContext, flowToken: string | null, callbackQuery: string, terminal: Terminal, requestId: string | null): Promise<OidcLoginResult> {
  const s = settingsOf(ctx);
  const refuse = async (rule: string, reason: string, code: 'auth.sso_failed' | 'auth.sso_refused', userId: string | null = null): Promise<never> => {
    await appendAuditAlone(ctx.db, ctx.clock, anonymousActor(terminal, requestId, userId), {
      action: 'auth.login', decision: 'deny', rule, reason, result: 'denied', details: { method: 'oidc' },
    });
    throw new AppError(code, code === 'auth.sso_refused' ? 'This IdP account may not sign in to Mamori.' : 'The sign-in with the company IdP did not complete; start again.');
  };
  const now = ctx.clock.now();
  const flow = flowToken
    ? await ctx.db.deleteFrom('oidc_flows').where('id', '=', hashToken(flowToken)).returningAll().executeTakeFirst()
    : undefined;
  if (!flow || now.getTime() >= new Date(flow.expires_at).getTime()) return refuse('auth.oidc_no_flow', 'No sign-in in progress for this browser, or it expired', 'auth.sso_failed');
  const params = new URLSearchParams(callbackQuery);
  const idpError = params.get('error');
  if (idpError) return refuse('auth.oidc_idp_error', `The IdP refused: ${/^[a-z_]{1,40}$/.test(idpError) ? idpError : 'error'}`, 'auth.sso_failed');

  const config = await configurationOf(ctx);
  const current = new URL(s.redirectUrl);
  current.search = params.toString();
  let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
  try {
    tokens = await oidc.authorizationCodeGrant(config, current, {
      expectedState: flow.state, expectedNonce: flow.nonce, pkceCodeVerifier: flow.code_verifier, idTokenExpected: true,
    });
  } catch (err) {
    const rule = failureRule(err);
    ctx.logger.info({ rule, err: { code: (err as { code?: unknown }).code, error: (err as { error?: unknown }).error } }, 'OIDC sign-in refused');
    return refuse(rule, 'The authorization response or the code exchange failed verification', 'auth.sso_failed');
  }
  const idToken = tokens.claims() as Claims | undefined;
  const sub = typeof idToken?.sub === 'string' ? idToken.sub : null;
  if (!idToken || !sub) return refuse('auth.oidc_token_failed', 'No ID token subject', 'auth.sso_failed');
  // Groups and e-mail may come from the ID token or only from userinfo (Okta, oidc-provider).
  let userinfo: Claims = {};
  if (config.serverMetadata().userinfo_endpoint && tokens.access_token) {
    try {
      userinfo = (await oidc.fetchUserInfo(config, tokens.access_token, sub)) as Claims;
    } catch (err) {
      ctx.logger.warn({ err: { code: (err as { code?: unknown }).code } }, 'OIDC userinfo failed; using the ID token claims only');
    }
  }
  const claims: Claims = { ...userinfo, ...idToken };
  const groups = [...new Set([...stringList(idToken[s.groupsClaim]), ...stringList(userinfo[s.groupsClaim])])];

  const match = await matchUser(ctx, s, sub, claims);
  if (!match) return refuse('auth.oidc_unknown_user', 'No Mamori user for this IdP account (SSO creates no users)', 'auth.sso_refused');
  const { user } = match;
  if (user.oidc_subject !== null && user.oidc_subject !== sub) return refuse('auth.oidc_subject_mismatch', 'The user is bound to another IdP subject', 'auth.sso_refused', user.id);
  if (user.kind !== 'person') return refuse('auth.oidc_not_person', 'Service accounts do not sign in', 'auth.sso_refused', user.id);
  if (user.status !== 'active') return refuse('actor.inactive', 'User not active', 'auth.sso_refused', user.id);

  const mfa = idpMfa(s, idToken);
  const { token, hash, csrfToken } = newSessionSecrets();
  const actor = { ...anonymousActor(terminal, requestId, user.id), login: user.login, sessionRef: sessionRefOf(hash) };
  let rolesChanged = false;
  await ctx.db.transaction().execute(async (tx) => {
    const repo = identityRepository(tx);
    // Re-read under a lock: a leaver committed meanwhile must not get a session.
    const locked = await tx.selectFrom('users').select(['status', 'oidc_subject', 'password_change_required']).where('id', '=', user.id).forUpdate().executeTakeFirstOrThrow();
    if (locked.status !== 'active') throw new AppError('auth.sso_refused', 'This IdP account may not sign in to Mamori.');
    if (locked.oidc_subject === null) await tx.updateTable('users').set({ oidc_subject: sub }).where('id', '=', user.id).execute();
    // A one-time password never used (an account created in the console) would both stand as an
    // idle credential and block the SSO session behind a password change: the IdP replaces it.
    if (locked.password_change_required) await tx.updateTable('users').set({ password_hash: null, password_change_required: false, updated_at: now }).where('id', '=', user.id).execute();
    const { managed, wanted } = mappedRoles(s.groupRoles, groups);
    if (managed.size > 0) {
      const current = (await repo.rolesOf(user.id)) as Role[];
      const next = [...new Set([...current.filter((r) => !managed.has(r)), ...wanted])].sort();
      const added = next.filter((r) => !current.includes(r));
      const removed = current.filter((r) => !next.includes(r));
      if (added.length > 0 || removed.length > 0) {
        rolesChanged = true;
        await repo.setRoles(user.id, next, now);
        await appendAudit(tx, ctx.clock, actor, {
          action: 'user.update', decision: 'allow', rule: 'sso.group_mapping', reason: 'Roles set from IdP groups at sign-in', result: 'ok', subjectUserId: user.id,
          details: { added, removed },
        });
      }
    }
    await repo.insertSession({ hash, userId: user.id, csrfToken, at: now, expiresAt: sessionExpiry(ctx, now), mfaAt: mfa ? now : null, terminal });
    await appendAudit(tx, ctx.clock, actor, {
      action: 'auth.login', decision: 'allow', rule: 'auth.oidc', reason: mfa ? 'Signed in with the company IdP (multi-factor at the IdP)' : 'Signed in with the company IdP', result: 'ok',
      details: { method: 'oidc', matchedBy: match.how, mfaFromIdp: mfa, oneTimePasswordVoided: locked.password_change_required },
    });
  }).catch(async (err: unknown) => {
    if (err instanceof AppError && err.code === 'auth.sso_refused') await refuse('actor.inactive', 'User not active', 'auth.sso_refused', user.id);
    throw err;
  });
  if (rolesChanged) invalidateActors(ctx);
  return { token, csrfToken, mfa };
}
