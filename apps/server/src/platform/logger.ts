/**
 * pino with redaction: request bodies, auth headers and cookies never reach the log, and known
 * personal-data keys are censored wherever they appear in a logged object.
 */
import { pino, type Logger } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'password',
  'newPassword',
  'token',
  'values',
  'record',
  '*.password',
  '*.values',
  '*.record',
  '*.person_name',
  '*.email',
  '*.phone',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'mamori' } };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}
export type { Logger };
