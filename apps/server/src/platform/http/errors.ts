/**
 * One error handler: AppError → its status and code; framework errors (schema, JSON, size, media
 * type) → stable codes; anything else → 500 `internal` with the request id and nothing more.
 * Nothing from the request body is ever echoed.
 */
import type { FastifyBaseLogger, FastifyError, FastifyInstance } from 'fastify';
import { ERROR_STATUS, type ErrorBody, type ErrorCode } from '@mamori/contracts';
import { errorForLog, isAppError, type AppError } from '../errors.ts';

function body(code: ErrorCode, message: string, requestId: string, details?: unknown): ErrorBody {
  return { error: { code, message, requestId, ...(details === undefined ? {} : { details }) } };
}

/** The answer to an AppError: its status, its body and (a locked account) when to retry. */
export function appErrorReply(err: AppError, requestId: string): { status: number; body: ErrorBody; retryAfter: string | null } {
  let retryAfter: string | null = null;
  if (err.code === 'auth.locked') {
    const d = err.details as { retryAfterSeconds?: number } | undefined;
    if (d?.retryAfterSeconds) retryAfter = String(d.retryAfterSeconds);
  }
  return { status: err.status, body: body(err.code, err.message, requestId, err.details), retryAfter };
}

/** The answer to an error that is not an AppError: 500 `internal`, logged (type, code, frames) without its message or anything from the request. */
export function internalErrorReply(err: Error & { code?: unknown }, requestId: string, log: FastifyBaseLogger): { status: number; body: ErrorBody } {
  log.error({ err: errorForLog(err) }, 'unhandled error');
  return { status: ERROR_STATUS.internal, body: body('internal', 'Something went wrong on our side. Quote the request id when you report it.', requestId) };
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (isAppError(err)) {
      const r = appErrorReply(err, request.id);
      if (r.retryAfter) void reply.header('retry-after', r.retryAfter);
      return reply.status(r.status).send(r.body);
    }
    if (err.validation) {
      const details = err.validation.map((v) => ({ path: v.instancePath || (v.params as { missingProperty?: string })?.missingProperty || '', rule: v.keyword, ...(v.keyword === 'additionalProperties' ? { property: (v.params as { additionalProperty?: string }).additionalProperty } : {}) }));
      return reply.status(400).send(body('request.invalid', `Invalid request ${err.validationContext ?? ''}`.trim(), request.id, details));
    }
    switch (err.code) {
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return reply.status(400).send(body('request.malformed_json', 'The body is not valid JSON.', request.id));
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return reply.status(413).send(body('request.too_large', 'The body is too large.', request.id));
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return reply.status(415).send(body('request.unsupported_media_type', 'This content type is not accepted here.', request.id));
    }
    if (err instanceof SyntaxError || err.statusCode === 400) {
      return reply.status(400).send(body('request.malformed_json', 'The request could not be parsed.', request.id));
    }
    const r = internalErrorReply(err, request.id, request.log);
    return reply.status(r.status).send(r.body);
  });
  app.setNotFoundHandler((request, reply) => reply.status(404).send(body('not_found', 'No such route.', request.id)));
}
