/**
 * Signing out halts the console's requests: one in flight is aborted (its answer never reaches the
 * screen), new ones are refused without being sent, the logout request itself goes, and after the
 * sign-out requests go again. Against a real HTTP server that answers slowly.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { api, resumeRequests, signOut } from './api.ts';

let server: http.Server;
let base = '';
const seen: string[] = [];

before(async () => {
  server = http.createServer((req, res) => {
    seen.push(req.url!);
    const delay = req.url!.startsWith('/slow') ? 300 : 0;
    setTimeout(() => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: req.url }));
    }, delay);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const isAbort = (e: unknown) => e instanceof DOMException && e.name === 'AbortError';

test('signing out aborts the requests in flight, refuses new ones until it is over, and lets the logout through', async () => {
  const inFlight = api.get(`${base}/slow/list`);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(seen, ['/slow/list'], 'the slow request reached the server');

  // The logout is held at the server until the checks below are done: the sign-out is still under way.
  const loggedOut = signOut(`${base}/slow/logout`);
  await assert.rejects(inFlight, isAbort, 'its answer is not taken');
  await assert.rejects(api.get(`${base}/poll`), isAbort, 'a new request is refused');
  const own = new AbortController();
  await assert.rejects(api.get(`${base}/poll-with-signal`, { signal: own.signal }), isAbort, 'also one with its own signal');
  await loggedOut;
  assert.deepEqual(seen, ['/slow/list', '/slow/logout'], 'the logout went, neither of the others');
  await assert.rejects(api.get(`${base}/poll`), isAbort, 'refused until the sign-out is over');

  resumeRequests();
  assert.deepEqual(await api.get(`${base}/me`), { ok: '/me' }, 'after the sign-out requests go again');
  // A request's own signal still works once the halt is over.
  const c = new AbortController();
  const p = api.get(`${base}/slow/mine`, { signal: c.signal });
  c.abort();
  await assert.rejects(p, isAbort);
});
