/**
 * A leaver's live session on another Mamori node is refused right after the SCIM call. On
 * PostgreSQL two app instances share one database, each with its own pool and actor cache; node B
 * has the session's actor cached (the test clock stands still, so the cache would never expire by
 * itself): only the LISTEN/NOTIFY broadcast can make B refuse. On PGlite (one process) one instance.
 * The latency from the SCIM call to the first refused request is measured and printed, not asserted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import { startTestApp, type TestApp } from './support/app.ts';
import { buildApp } from '../src/app.ts';
import { openDatabase } from '../src/platform/db/database.ts';
import type { AppContext } from '../src/platform/context.ts';
import { startActorBroadcast } from '../src/modules/identity/index.ts';
import type { SignalListener } from '../src/platform/db/signals.ts';
import { PATCH_OP, scimClient, userId, type ScimClient } from './scim-support.ts';

let t: TestApp;
let scim: ScimClient;
let nodeB: { app: FastifyInstance; close(): Promise<void> };
const listeners: SignalListener[] = [];

before(async () => {
  t = await startTestApp({ demoContacts: 0 });
  ({ request: scim } = await scimClient(t.ctx, t.app, 'entra'));
  listeners.push(await startActorBroadcast(t.ctx));
  if (t.database.url) {
    const database = await openDatabase({ databaseUrl: t.database.url, poolSize: 5 });
    const ctx: AppContext = { ...t.ctx, database, db: database.db };
    const app = await buildApp(ctx, { secureCookies: false, trustProxy: false, dataDir: t.dir });
    await app.ready();
    listeners.push(await startActorBroadcast(ctx));
    nodeB = { app, close: async () => { await app.close(); await database.close(); } };
  } else {
    nodeB = { app: t.app, close: async () => undefined };
  }
});
after(async () => {
  for (const l of listeners) await l.close();
  await nodeB?.close();
  await t?.close();
});

void test('a leaver’s live session on another node is refused right after the SCIM call (measured)', async () => {
  const login = await nodeB.app.inject({ method: 'POST', url: '/api/auth/login', payload: { login: 'handler', password: t.passwords.get('handler')! } });
  assert.equal(login.statusCode, 200);
  const cookie = `mamori_session=${login.cookies.find((c) => c.name === 'mamori_session')!.value}`;
  const me = () => nodeB.app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } });
  // Twice: the second is served from node B's actor cache.
  assert.equal((await me()).statusCode, 200);
  assert.equal((await me()).statusCode, 200);

  const id = await userId(t.ctx, 'handler');
  const t0 = performance.now();
  const r = await scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] });
  const t1 = performance.now();
  assert.equal(r.status, 200);
  let status = 0;
  let polls = 0;
  // Bounded: without the broadcast node B would serve the cached actor for ever (the clock stands still).
  while (polls < 3000) {
    polls++;
    status = (await me()).statusCode;
    if (status === 401) break;
    await new Promise((res) => setTimeout(res, 1));
  }
  const t2 = performance.now();
  assert.equal(status, 401, `node B still accepts the leaver's session after ${polls} requests`);
  const result = {
    bench: 'scim.leaver_revocation', engine: t.database.url ? 'postgres, two app instances' : 'pglite, one instance',
    value: Number((t2 - t0).toFixed(1)), unit: 'ms from the SCIM call to the first refused request',
    afterResponseMs: Number((t2 - t1).toFixed(1)), scimCallMs: Number((t1 - t0).toFixed(1)), requestsUntilRefused: polls, target: 1000,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
});
