/**
 * A fetch for outgoing calls to systems Mamori is configured to trust (the company IdP, the door
 * controllers): https only, the peer's certificate always verified — against a given CA (PEM) or the
 * system roots — TLS ≥ 1.2, no redirects followed, a time limit. Node's own fetch cannot take a CA
 * per call, hence this small wrapper over node:https that returns a standard `Response`.
 *
 * Connections are kept alive between calls, and a kept connection may be closed by the peer at the
 * very moment a request is sent on it (a server drops idle connections after its keep-alive time:
 * 5 s for Node, seconds for the IdPs). Two rules keep that race from failing a sign-in: an idle
 * connection is dropped here first (after `IDLE_MS`, or a second before the peer's announced
 * `Keep-Alive: timeout`), and a request whose reused connection was reset before any answer came is
 * sent again on a new one. A peer that closed an idle connection never read the request on it.
 */
import https from 'node:https';

export type TlsFetchOptions = {
  ca?: string | null;
  cert?: string | null;
  key?: string | null;
  timeoutMs?: number;
  maxBodyBytes?: number;
  /** How long a kept connection may stay idle (default IDLE_MS); a call in progress is not idle. */
  idleMs?: number;
};

export type TlsFetch = (url: string, init: { method: string; headers?: Record<string, string>; body?: unknown; signal?: AbortSignal | null }) => Promise<Response>;

function bodyBytes(body: unknown): Buffer | null {
  if (body === undefined || body === null) return null;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof URLSearchParams) return Buffer.from(body.toString(), 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  throw new Error('tls-fetch: unsupported body type');
}

/** An idle kept-alive connection is closed after this long (sooner if the peer announces less). */
export const IDLE_MS = 4_000;
/** How many times a request is sent again after its reused connection was reset. */
const STALE_RETRIES = 2;

/** A reused connection that the peer had already closed: reset or broken before any answer. */
function staleConnection(req: { reusedSocket: boolean }, err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return req.reusedSocket && (code === 'ECONNRESET' || code === 'EPIPE');
}

export function tlsFetch(opts: TlsFetchOptions = {}): TlsFetch {
  const agent = new https.Agent({
    keepAlive: true,
    // The idle time of a kept connection; Node lowers it to a second under the peer's Keep-Alive hint.
    timeout: opts.idleMs ?? IDLE_MS,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    ...(opts.ca ? { ca: opts.ca } : {}),
    ...(opts.cert && opts.key ? { cert: opts.cert, key: opts.key } : {}),
  });
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const maxBody = opts.maxBodyBytes ?? 2 * 1024 * 1024;
  // async: a bad URL or body is a rejected promise, as fetch gives, not a throw.
  return async (url, init) => {
    const u = new URL(url);
    if (u.protocol !== 'https:') throw new Error('tls-fetch: only https:// URLs');
    const body = bodyBytes(init.body);
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (body && init.body instanceof URLSearchParams && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/x-www-form-urlencoded;charset=UTF-8';
    }
    if (body) headers['content-length'] = String(body.length);
    const attempt = (retries: number): Promise<Response> => new Promise<Response>((resolve, reject) => {
      let answered = false;
      const req = https.request(u, { method: init.method, headers, agent, timeout: timeoutMs, ...(init.signal ? { signal: init.signal } : {}) }, (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBody) {
            req.destroy(new Error('tls-fetch: response too large'));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (Array.isArray(v)) for (const x of v) h.append(k, x);
            else if (v !== undefined) h.set(k, String(v));
          }
          const status = res.statusCode ?? 502;
          // Response refuses a body on 1xx/204/304.
          const nullBody = status === 204 || status === 304 || status < 200;
          resolve(new Response(nullBody ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? '', headers: h }));
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('tls-fetch: timed out')));
      req.on('error', (err) => {
        if (!answered && retries > 0 && staleConnection(req, err) && !init.signal?.aborted) resolve(attempt(retries - 1));
        else reject(err);
      });
      req.end(body ?? undefined);
    });
    return attempt(STALE_RETRIES);
  };
}
