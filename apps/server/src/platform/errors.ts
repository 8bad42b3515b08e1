import { ERROR_STATUS, type ErrorCode } from '@mamori/contracts';

/**
 * The one error type services throw. `message` is written for people and never contains personal
 * data; `details` holds only structural facts (field names, line numbers, ids).
 */
export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
    this.status = ERROR_STATUS[code];
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

/**
 * What the log keeps of an unexpected error: its type, its code and the stack's frames alone. The
 * stack's first lines repeat the message, which may hold what the request carried (a driver's
 * "invalid input syntax for type uuid: …", say).
 */
export function errorForLog(err: Error & { code?: unknown }): { type: string; code: unknown; stack: string | undefined } {
  return { type: err.name, code: err.code, stack: err.stack?.split('\n').filter((l) => /^\s+at /.test(l)).join('\n') };
}
