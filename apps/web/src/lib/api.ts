/**
 * The one way the console talks to the Mamori API: same-origin JSON with the session cookie, the
 * CSRF token on every state-changing call, and errors as `ApiError`. The CSRF token lives in this
 * module's memory only (never in browser storage); after a reload the session check
 * (`GET /api/auth/me`) hands it back. When the server says the session is gone, whoever listens
 * (the session provider) sends the person back to the login screen.
 */
import { ApiError, endsSession } from './errors.ts';

let csrfToken: string | null = null;
let sessionEndedListener: ((code: string) => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export function onSessionEnded(listener: ((code: string) => void) | null): void {
  sessionEndedListener = listener;
}

// Signing out: the screen being left may still have requests in flight (a list loading, a poll).
// Were they answered after the logout they would meet the ended session (401s, and a "session ended"
// notice instead of "signed out"). So the sign-out aborts them first and refuses new ones until it
// is done; only the logout request itself goes.
let sessionRequests = new AbortController();

/**
 * Signs out: aborts every request in flight and refuses new ones until `resumeRequests`, then sends
 * the logout (the one request that goes meanwhile).
 */
export async function signOut(path = '/api/auth/logout'): Promise<void> {
  sessionRequests.abort();
  await send('POST', path, undefined, { quietAuthErrors: true }, null);
}

/** The sign-out is over: requests go again (the login screen's). */
export function resumeRequests(): void {
  if (sessionRequests.signal.aborted) sessionRequests = new AbortController();
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type RequestOptions = {
  /** Query string parameters; undefined and empty values are left out. */
  query?: Record<string, string | number | undefined | null>;
  /** The session check and the login handle 401 themselves. */
  quietAuthErrors?: boolean;
  signal?: AbortSignal;
};

function withQuery(path: string, query: RequestOptions['query']): string {
  if (!query) return path;
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

function parseJson(text: string): unknown {
  try {
    return text ? (JSON.parse(text) as unknown) : null;
  } catch {
    return null; // a proxy's HTML error page, say: the status still tells what happened
  }
}

export function apiRequest<T>(method: Method, path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
  return send<T>(method, path, body, opts, sessionRequests.signal);
}

/** `halted`: the sign-out's signal (null for the logout request itself). */
async function send<T>(method: Method, path: string, body: unknown, opts: RequestOptions, halted: AbortSignal | null): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  // A POST without a body sends no content type: Fastify refuses an empty JSON body. A file goes as is.
  const raw = typeof Blob !== 'undefined' && body instanceof Blob;
  if (body !== undefined) headers['content-type'] = raw ? 'application/octet-stream' : 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  if (halted?.aborted) throw new DOMException('Signing out', 'AbortError');
  const signal = halted && opts.signal ? AbortSignal.any([halted, opts.signal]) : (halted ?? opts.signal ?? null);
  let res: Response;
  try {
    res = await fetch(withQuery(path, opts.query), {
      method,
      headers,
      body: body === undefined ? null : raw ? (body as Blob) : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'The server could not be reached.');
  }
  const json = parseJson(await res.text());
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string; requestId?: string; details?: unknown } } | null)?.error;
    const error = new ApiError(res.status, e?.code ?? `http.${res.status}`, e?.message ?? res.statusText, e?.requestId ?? null, e?.details);
    if (!opts.quietAuthErrors && endsSession(error)) sessionEndedListener?.(error.code);
    throw error;
  }
  return json as T;
}

export const api = {
  get: <T>(path: string, opts?: RequestOptions) => apiRequest<T>('GET', path, undefined, opts),
  post: <T>(path: string, body?: unknown, opts?: RequestOptions) => apiRequest<T>('POST', path, body, opts),
  put: <T>(path: string, body?: unknown, opts?: RequestOptions) => apiRequest<T>('PUT', path, body, opts),
  patch: <T>(path: string, body?: unknown, opts?: RequestOptions) => apiRequest<T>('PATCH', path, body, opts),
  delete: <T>(path: string, opts?: RequestOptions) => apiRequest<T>('DELETE', path, undefined, opts),
};
