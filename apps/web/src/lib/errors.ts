/**
 * What went wrong, in words people can act on. The server answers every error with a stable code
 * and, for policy decisions, the rule that decided and a reason in Japanese and English
 * (`error.details.rule`, `error.details.reason.ja/en`). This maps an error to the translation key
 * of its message plus those facts. Pure: no DOM, no i18n instance (unit-tested under node).
 */
import type { Lang } from './format.ts';

/** An error response of the Mamori API (or a network failure: status 0, code 'network'). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly requestId: string | null;
  readonly details: unknown;
  constructor(status: number, code: string, message: string, requestId: string | null = null, details: unknown = undefined) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.requestId = requestId;
    this.details = details;
  }
}

/** Codes with their own message in the translation files (`errors.<code>`); others fall back by status. */
export const KNOWN_ERROR_CODES = [
  'network',
  'request.invalid',
  'request.malformed_json',
  'request.too_large',
  'auth.required',
  'auth.invalid_credentials',
  'auth.locked',
  'auth.session_revoked',
  'auth.password_change_required',
  'auth.mfa_required',
  'auth.mfa_invalid',
  'auth.mfa_already_enrolled',
  'auth.csrf',
  'auth.sso_unavailable',
  'auth.sso_failed',
  'auth.sso_refused',
  'auth.passkey_unavailable',
  'auth.passkey_invalid',
  'password.too_short',
  'password.too_long',
  'password.reused',
  'policy.denied',
  'policy.purpose_required',
  'policy.dispatch_worker',
  'not_found',
  'conflict',
  'user.exists',
  'user.not_active',
  'dataset.exists',
  'dataset.invalid_field',
  'grant.invalid',
  'grant.dispatch_worker',
  'record.invalid',
  'approval.invalid',
  'approval.invalid_policy',
  'approval.closed',
  'approval.already_decided',
  'approval.not_usable',
  'transmission.invalid',
  'transmission.not_sender',
  'transmission.no_supervisor',
  'transmission.closed',
  'server.busy',
  'internal',
] as const;

export type ErrorView = {
  /** Translation key of the message (what happened and what to do). */
  key: string;
  /** The error code as the server sent it (shown small, for support). */
  code: string;
  /** The policy's reason in the chosen language, when the server gave one. */
  reason: string | null;
  /** The rule that decided (e.g. `dispatch.no_personal`). */
  rule: string | null;
  /** Field names the error is about (validation, grants). */
  fields: string[];
  /** Seconds until a locked account may try again. */
  retryAfterSeconds: number | null;
  /** For errors on our side: the id to quote when reporting. */
  requestId: string | null;
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function fieldsOf(details: unknown): string[] {
  const out = new Set<string>();
  const take = (d: unknown) => {
    if (!isRecord(d)) return;
    if (typeof d.field === 'string') out.add(d.field);
    if (Array.isArray(d.fields)) for (const f of d.fields) if (typeof f === 'string') out.add(f);
    if (typeof d.path === 'string' && d.path) out.add(d.path.replace(/^\//, '').split('/')[0] ?? d.path);
  };
  if (Array.isArray(details)) details.forEach(take);
  else take(details);
  return [...out].filter((f) => f !== '');
}

export function describeError(error: unknown, lang: Lang): ErrorView {
  if (!(error instanceof ApiError)) {
    return { key: 'errors.unexpected', code: 'client', reason: null, rule: null, fields: [], retryAfterSeconds: null, requestId: null };
  }
  const d = error.details;
  let reason: string | null = null;
  let rule: string | null = null;
  let retryAfterSeconds: number | null = null;
  if (isRecord(d)) {
    if (isRecord(d.reason)) {
      const r = d.reason[lang] ?? d.reason.ja ?? d.reason.en;
      if (typeof r === 'string') reason = r;
    }
    if (typeof d.rule === 'string') rule = d.rule;
    if (typeof d.retryAfterSeconds === 'number') retryAfterSeconds = d.retryAfterSeconds;
  }
  const known = (KNOWN_ERROR_CODES as readonly string[]).includes(error.code);
  const key = known ? `errors.${error.code}` : error.status >= 500 ? 'errors.internal' : error.status === 401 ? 'errors.auth.required' : error.status === 403 ? 'errors.policy.denied' : 'errors.unexpected';
  return {
    key,
    code: error.code,
    reason,
    rule,
    fields: fieldsOf(d),
    retryAfterSeconds,
    requestId: error.status >= 500 || !known ? error.requestId : null,
  };
}

/** The codes after which the session is gone and the person must sign in again. */
export function endsSession(error: unknown): boolean {
  return error instanceof ApiError && error.status === 401 && (error.code === 'auth.session_revoked' || error.code === 'auth.required');
}
