/**
 * The fetch for the IdP and the door controllers keeps connections alive, and must not fail a call
 * because the peer closed a kept connection just as the call was sent on it (the race behind an SSO
 * sign-in refused with `auth.sso_failed` when the next sign-in came about as long after the last as
 * the IdP's keep-alive time). A real HTTPS peer with the test CA plays each part:
 *   - a reused connection reset before any answer: the call is sent again on a new connection, body
 *     and all, and a call whose new connections are reset too is refused, not sent forever;
 *   - an idle connection is dropped before the peer's announced `Keep-Alive: timeout` runs out, and
 *     a call waiting longer than that idle time for its answer is not cut off by it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tlsFetch } from '../src/platform/http/tls-fetch.ts';
import { testPki } from './support/tls.ts';

type Mode = 'reset-reused' | 'reset-after-first' | 'hint-never-close' | 'slow';
let mode: Mode = 'reset-reused';
let peer: https.Server;
let base = '';
let ca = '';
/** Connections the peer accepted, and each request it saw: its connection's number and its body. */
let connections: Socket[] = [];
let seen: { connection: number; body: string }[] = [];

before(async () => {
  const pki = await testPki();
  ca = pki.ca;
  const perSocket = new WeakMap<Socket, number>();
  peer = https.createServer({ key: pki.key, cert: pki.cert }, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const socket = req.socket;
      const nth = (perSocket.get(socket) ?? 0) + 1;
      perSocket.set(socket, nth);
      seen.push({ connection: connections.indexOf(socket) + 1, body });
      // A peer whose idle-close crossed the request: the connection goes, the request unanswered.
      if ((mode === 'reset-reused' && nth > 1) || (mode === 'reset-after-first' && seen.length > 1)) {
        socket.destroy();
        return;
      }
      if (mode === 'hint-never-close') res.setHeader('Keep-Alive', 'timeout=2');
      res.setHeader('content-type', 'text/plain');
      setTimeout(() => res.end(`ok ${body}`), mode === 'slow' ? 600 : 0);
    });
  });
  peer.on('secureConnection', (s: Socket) => connections.push(s));
  await new Promise<void>((r) => peer.listen(0, '127.0.0.1', r));
  base = `https://127.0.0.1:${(peer.address() as AddressInfo).port}`;
});

after(async () => {
  peer.closeAllConnections();
  await new Promise((r) => peer.close(r));
});

function reset(m: Mode, keepAliveTimeout = 5_000): void {
  mode = m;
  connections = [];
  seen = [];
  peer.keepAliveTimeout = keepAliveTimeout;
}

const post = (f: ReturnType<typeof tlsFetch>, body: string) => f(`${base}/token`, { method: 'POST', body: new URLSearchParams({ code: body }) });

test('a call whose kept connection the peer reset before answering is sent again on a new connection, body and all', async () => {
  reset('reset-reused');
  const f = tlsFetch({ ca });
  assert.equal(await (await post(f, 'first')).text(), 'ok code=first');
  const second = await post(f, 'second');
  assert.equal(second.status, 200);
  assert.equal(await second.text(), 'ok code=second');
  // The second call went out on the first connection (reset there), then on a new one.
  assert.deepEqual(seen, [{ connection: 1, body: 'code=first' }, { connection: 1, body: 'code=second' }, { connection: 2, body: 'code=second' }]);
});

test('a call whose new connection is reset too is refused with the reset, not sent again and again', async () => {
  reset('reset-after-first');
  const f = tlsFetch({ ca });
  assert.equal((await post(f, 'first')).status, 200);
  await assert.rejects(post(f, 'second'), (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET');
  // Once on the kept connection, once on a new one: a reset of a fresh connection is the peer's answer.
  assert.deepEqual(seen.map((s) => s.connection), [1, 1, 2]);
});

test('a kept connection is reused while fresh, and dropped a second before the peer’s announced keep-alive time', async () => {
  // The peer announces 2 s but never closes: only Mamori's own idle rule can drop the connection.
  reset('hint-never-close', 0);
  const f = tlsFetch({ ca });
  assert.equal((await post(f, 'a')).status, 200);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal((await post(f, 'b')).status, 200);
  await new Promise((r) => setTimeout(r, 1_600));
  assert.equal((await post(f, 'c')).status, 200);
  assert.deepEqual(seen.map((s) => s.connection), [1, 1, 2], 'the idle connection was dropped after 1 s, not reused');
});

test('a call whose answer takes longer than the idle limit is answered, on a new connection and on a kept one', async () => {
  reset('slow');
  const f = tlsFetch({ ca, idleMs: 200 });
  assert.equal(await (await post(f, 'x')).text(), 'ok code=x');
  assert.equal(await (await post(f, 'y')).text(), 'ok code=y');
  assert.deepEqual(seen.map((s) => s.connection), [1, 1], 'the second call went out on the kept connection');
});

test('a URL that is not https, or no URL at all, is refused as a rejected promise, as fetch refuses, and nothing is sent', async () => {
  reset('reset-reused');
  const f = tlsFetch({ ca });
  for (const [url, why] of [[base.replace('https:', 'http:'), /only https/], ['not a url', /Invalid URL/]] as const) {
    let call: Promise<Response> | undefined;
    assert.doesNotThrow(() => (call = f(url, { method: 'GET' })));
    await assert.rejects(call!, why);
  }
  assert.deepEqual(seen, []);
});
