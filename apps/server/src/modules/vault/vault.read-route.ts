/**
 * `GET /api/datasets/:name/records/:id?purpose=…` as a lean route (ADR 0012): the same service call
 * (`readRecord`: policy, audited batched read, masking) and the same credential resolution as the
 * Fastify route in vault.routes.ts, without Fastify's per-request machinery (platform/http/lean.ts).
 *
 * It takes only requests whose shape the Fastify route's schema accepts without doubt: a dataset
 * name of the route's pattern, a record id of letters, digits, `-` and `_` (at most 64), and either
 * no query or exactly one non-empty `purpose` of at most 100 characters after decoding. Anything
 * else (other parameters, a repeated or empty purpose, percent-encoded path segments, HEAD) goes to
 * the Fastify route, which validates and answers it as before.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from '../../platform/context.ts';
import { resolveCredential, SESSION_COOKIE, terminalFrom } from '../../platform/http/auth.ts';
import type { LeanRequest, LeanRoute } from '../../platform/http/lean.ts';
import { readRecord } from './vault.records.ts';

/** The route's template (metrics label), as the Fastify route declares it. */
export const RECORD_READ_ROUTE = '/api/datasets/:name/records/:id';

const PREFIX = '/api/datasets/';
const READ_URL = /^\/api\/datasets\/([a-z][a-z0-9_-]{0,62})\/records\/([0-9A-Za-z_-]{1,64})(?:\?purpose=([^&#]+))?$/;
const MAX_PURPOSE = 100;

/** The purpose as Fastify's query parser decodes it (`+` is a space); null: leave the request to Fastify. */
function decodePurpose(raw: string): string | null {
  const v = raw.includes('+') ? raw.replace(/\+/g, ' ') : raw;
  if (!v.includes('%')) return v;
  try {
    return decodeURIComponent(v);
  } catch {
    return null;
  }
}

type Run = (req: IncomingMessage, res: ServerResponse, work: (r: LeanRequest) => Promise<string>) => Promise<void>;

export function leanRecordRead(ctx: AppContext, deps: { run: Run; parseCookie: (header: string) => Record<string, string | undefined> }): LeanRoute {
  const { run, parseCookie } = deps;
  return (req, res) => {
    if (req.method !== 'GET') return false;
    const url = req.url;
    if (url === undefined || !url.startsWith(PREFIX)) return false;
    const m = READ_URL.exec(url);
    if (m === null) return false;
    let purpose = '';
    if (m[3] !== undefined) {
      const p = decodePurpose(m[3]);
      if (p === null || p.length === 0 || p.length > MAX_PURPOSE) return false;
      purpose = p;
    }
    const name = m[1]!;
    const id = m[2]!;
    void run(req, res, async (r) => {
      const headers = req.headers;
      const cookieHeader = headers.cookie;
      const { actor } = await resolveCredential(ctx, {
        method: 'GET',
        headers,
        sessionCookie: cookieHeader ? parseCookie(cookieHeader)[SESSION_COOKIE] : undefined,
        terminal: terminalFrom(r.ip, headers),
        requestId: r.id,
      });
      return JSON.stringify({ record: await readRecord(ctx, actor, name, id, purpose) });
    }).catch((err: unknown) => {
      // run answers every error itself; this is only reached if writing the answer failed.
      ctx.logger.error({ err: { type: (err as Error)?.name } }, 'lean route: could not answer');
      if (!res.headersSent) res.destroy();
    });
    return true;
  };
}
