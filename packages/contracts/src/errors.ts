/**
 * The closed set of error codes Mamori answers with, and their HTTP status.
 * Codes are stable API: clients (web console, CLI, integrations) switch on them.
 * Messages never carry personal data; `details` carries only field names, line numbers, ids.
 */
export const ERROR_STATUS = {
  'request.invalid': 400,
  'request.malformed_json': 400,
  'request.too_large': 413,
  'request.unsupported_media_type': 415,
  'auth.required': 401,
  'auth.invalid_credentials': 401,
  'auth.locked': 429,
  'auth.session_revoked': 401,
  'auth.password_change_required': 403,
  'auth.mfa_required': 403,
  'auth.mfa_invalid': 401,
  'auth.mfa_already_enrolled': 409,
  'auth.csrf': 403,
  'auth.sso_unavailable': 503,
  'auth.sso_failed': 401,
  'auth.sso_refused': 403,
  'auth.passkey_unavailable': 404,
  'auth.passkey_invalid': 401,
  'password.too_short': 400,
  'password.too_long': 400,
  'password.reused': 400,
  'policy.denied': 403,
  'policy.purpose_required': 400,
  'policy.dispatch_worker': 403,
  'not_found': 404,
  'conflict': 409,
  'user.exists': 409,
  'user.not_active': 409,
  'dataset.exists': 409,
  'dataset.invalid_field': 400,
  'grant.invalid': 400,
  'grant.dispatch_worker': 403,
  'record.invalid': 400,
  'import.invalid': 422,
  'import.invalid_encoding': 422,
  'import.malformed_row': 422,
  'import.field_too_long': 422,
  'import.no_header': 422,
  'import.duplicate_header': 422,
  'approval.invalid': 400,
  'approval.invalid_policy': 400,
  'approval.closed': 409,
  'approval.already_decided': 409,
  'approval.not_usable': 409,
  'scim.invalid_filter': 400,
  'scim.invalid_path': 400,
  'scim.invalid_value': 400,
  'scim.invalid_syntax': 400,
  'scim.no_target': 400,
  'scim.mutability': 400,
  'scim.uniqueness': 409,
  'scim.precondition_failed': 412,
  'scim.too_many': 400,
  'extraction.invalid': 400,
  'extraction.not_downloadable': 409,
  /** A worker's run of an export was taken over by another after its lease ran out (stored, logged). */
  'extraction.superseded': 409,
  /** An export given up after repeated interrupted runs (stored as the extraction's error). */
  'extraction.interrupted': 503,
  /** A stored record did not authenticate (AES-GCM tag) or could not be read during an export: the export fails, no file. */
  'extraction.record_unreadable': 500,
  'trace.unreadable': 422,
  'transmission.invalid': 400,
  'transmission.not_sender': 403,
  'transmission.no_supervisor': 409,
  'transmission.closed': 409,
  'server.busy': 503,
  'internal': 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_STATUS, code);
}

/** Wire shape of every error response. */
export type ErrorBody = {
  error: { code: ErrorCode; message: string; requestId?: string; details?: unknown };
};
