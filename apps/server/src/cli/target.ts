/**
 * Where a `mamori` command runs. The embedded database belongs to one process: when a server runs on
 * the same data folder the command goes through its HTTP API (with MAMORI_TOKEN); otherwise it opens
 * the data folder itself and acts as the token's user, or as the local operator (system actor).
 */
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import path from 'node:path';
import type { Config } from '../config/config.ts';
import { openContext } from '../platform/bootstrap.ts';
import type { AppContext } from '../platform/context.ts';
import { identity, systemActor, type Actor } from '../modules/identity/index.ts';
import { createLogger } from '../platform/logger.ts';
import { SERVER_FILE } from '../main.ts';

export type Target =
  | { mode: 'online'; url: string; token: string | null }
  | { mode: 'offline'; ctx: AppContext; actor: Actor; close(): Promise<void> };

export async function runningServer(config: Config): Promise<string | null> {
  try {
    const info = JSON.parse(await readFile(path.join(config.dataDir, SERVER_FILE), 'utf8')) as { pid: number; url: string };
    process.kill(info.pid, 0);
    return info.url;
  } catch {
    return null;
  }
}

export async function resolveTarget(config: Config): Promise<Target> {
  const url = config.databaseUrl ? null : await runningServer(config);
  if (url) return { mode: 'online', url, token: config.cliToken };
  const ctx = await openContext(config, { logger: createLogger('warn') });
  const terminal = { ip: null, userAgent: 'mamori-cli', deviceId: null };
  const actor = config.cliToken ? await identity.resolveApiToken(ctx, config.cliToken, terminal, null) : systemActor(terminal);
  return { mode: 'offline', ctx, actor, close: () => ctx.database.close() };
}

type ErrorLine = { status?: number; error?: { code: string; message: string; details?: unknown } };

function apiError(json: ErrorLine | null, status: number): Error {
  const e = json?.error;
  return Object.assign(new Error(e ? `${e.code}: ${e.message}` : `HTTP ${status}`), { details: e?.details });
}

/** The error an answer that is not 2xx stands for: its error body's code and message, or its status (a proxy's HTML page, say). */
async function failure(res: Response): Promise<Error> {
  const text = await res.text();
  let json: ErrorLine | null;
  try {
    json = text ? (JSON.parse(text) as ErrorLine) : null;
  } catch {
    json = null;
  }
  return apiError(json, res.status);
}

/**
 * A request to the running server with the CLI's API token (MAMORI_TOKEN); an answer that is not 2xx
 * is thrown as its error (`code: message`, with the details).
 */
export async function request(target: { url: string; token: string | null }, method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  if (!target.token) throw new Error('A Mamori server is running on this data folder: set MAMORI_TOKEN to an API token (mamori token create) to act through it.');
  const res = await fetch(new URL(route, target.url), {
    method,
    headers: { authorization: `Bearer ${target.token}`, ...headers },
    ...(body === undefined ? {} : { body, duplex: 'half' }),
  } as RequestInit);
  if (!res.ok) throw await failure(res);
  return res;
}

export async function api<T>(target: { url: string; token: string | null }, method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const text = await (await request(target, method, route, body, headers)).text();
  return (text ? JSON.parse(text) : null) as T;
}

/**
 * A request whose answer streams JSON Lines (`Accept: application/x-ndjson`): each
 * `{"progress": …}` line goes to `onProgress` as it arrives, and the last line is the outcome, a
 * `{"result": …}` returned or an error thrown as `api` throws it.
 */
export async function apiProgress<P, T>(target: { url: string; token: string | null }, method: string, route: string, body: unknown, headers: Record<string, string>, onProgress: (p: P) => void): Promise<T> {
  const res = await request(target, method, route, body, { ...headers, accept: 'application/x-ndjson' });
  let last: { progress?: P; result?: T } & ErrorLine = {};
  for await (const line of createInterface({ input: Readable.fromWeb(res.body as WebReadableStream), crlfDelay: Infinity })) {
    if (line.trim() === '') continue;
    last = JSON.parse(line) as typeof last;
    if (last.progress !== undefined) onProgress(last.progress);
  }
  if (last.result !== undefined) return last.result;
  if (last.error) throw apiError(last, last.status ?? res.status);
  throw new Error('The answer ended without an outcome (was the connection cut?): check whether the operation took effect (an import commits or rolls back as a whole) before trying it again.');
}
