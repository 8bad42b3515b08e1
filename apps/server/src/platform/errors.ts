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
