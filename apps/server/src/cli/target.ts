/**
 * Where a `mamori` command runs. The embedded database belongs to one process: when a server runs on
 * the same data folder the command goes through its HTTP API (with MAMORI_TOKEN); otherwise it opens
 * the data folder itself and acts as the token's user, or as the local operator (system actor).
 */
import { readFile } from 'node:fs/promises';
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

function send(target: { url: string; token: string | null }, method: string, route: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  if (!target.token) throw new Error('A Mamori server is running on this data folder: set MAMORI_TOKEN to an API token (mamori token create) to act through it.');
  return fetch(new URL(route, target.url), {
    method,
    headers: { authorization: `Bearer ${target.token}`, ...headers },
    ...(body === undefined ? {} : { body, duplex: 'half' }),
  } as RequestInit);
}

export async function api<T>(target: { url: string; token: string | null }, method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const res = await send(target, method, route, body, headers);
  const text = await res.text();
  const json = text ? (JSON.parse(text) as unknown) : null;
  if (!res.ok) throw apiError(json as ErrorLine | null, res.status);
  return json as T;
}

/**
 * A request whose answer streams JSON Lines (`Accept: application/x-ndjson`): each
 * `{"progress": …}` line goes to `onProgress` as it arrives, and the last line is the outcome, a
 * `{"result": …}` returned or an error thrown as `api` throws it.
 */
export async function apiProgress<P, T>(target: { url: string; token: string | null }, method: string, route: string, body: unknown, headers: Record<string, string>, onProgress: (p: P) => void): Promise<T> {
  const res = await send(target, method, route, body, { ...headers, accept: 'application/x-ndjson' });
  if (!res.ok || !res.body) {
    const text = await res.text();
    throw apiError(text ? (JSON.parse(text) as ErrorLine) : null, res.status);
  }
  let last: ({ progress?: P; result?: T } & ErrorLine) | null = null;
  let pending = '';
  const take = (line: string) => {
    if (line.trim() === '') return;
    last = JSON.parse(line) as typeof last;
    if (last?.progress !== undefined) onProgress(last.progress);
  };
  const decoder = new TextDecoder();
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    const lines = (pending + decoder.decode(chunk, { stream: true })).split('\n');
    pending = lines.pop()!;
    lines.forEach(take);
  }
  take(pending + decoder.decode());
  const outcome = last as ({ progress?: P; result?: T } & ErrorLine) | null;
  if (outcome?.result !== undefined) return outcome.result;
  if (outcome?.error) throw apiError(outcome, outcome.status ?? res.status);
  throw new Error('The answer ended without an outcome (was the connection cut?): check whether the operation took effect (an import commits or rolls back as a whole) before trying it again.');
}
