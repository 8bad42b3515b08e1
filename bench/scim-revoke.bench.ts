/**
 * `npm run bench -- scim-revoke [leavers]`: the time from a SCIM `active: false` on node A to the
 * first refused request of the leaver's live session on node B (two app instances, each with its own
 * pool and actor cache, on one PostgreSQL; B has the session's actor cached). Baseline: the same with
 * the session on node A itself (no broadcast needed). Target: < 1 s (issue 7, requirement T3).
 */
import { performance } from 'node:perf_hooks';
import { buildApp } from '../apps/server/src/app.ts';
import { openDatabase } from '../apps/server/src/platform/db/database.ts';
import type { AppContext } from '../apps/server/src/platform/context.ts';
import { identity, startActorBroadcast, systemActor } from '../apps/server/src/modules/identity/index.ts';
import { createClientToken } from '../apps/server/src/modules/scim/index.ts';
import { percentile, printResult } from './lib.ts';
import { intArg, log, openBenchContext } from './support.ts';

const LEAVERS = intArg(process.argv[2], 15, 'leavers');
const PASSWORD = 'bench password long enough 1';
const bench = await openBenchContext({ poolSize: 8 });
const system = systemActor({ ip: null, userAgent: 'bench', deviceId: null });
const a = bench.ctx;
const databaseB = await openDatabase({ databaseUrl: bench.url, poolSize: 8 });
const b: AppContext = { ...a, database: databaseB, db: databaseB.db };
const appA = await buildApp(a, { secureCookies: false, trustProxy: false, dataDir: bench.dataDir });
const appB = await buildApp(b, { secureCookies: false, trustProxy: false, dataDir: bench.dataDir });
const listeners = [await startActorBroadcast(a), await startActorBroadcast(b)];

try {
  const { token } = await createClientToken(a, system, 'bench');
  type App = typeof appA;
  async function measure(sessionNode: App, i: number, label: string): Promise<{ total: number; afterResponse: number }> {
    const login = `${label}.${i}@bench.example`;
    const { user } = await identity.createUser(a, system, { login, displayName: `bench ${i}`, employmentType: 'employee', password: PASSWORD });
    const res = await sessionNode.inject({ method: 'POST', url: '/api/auth/login', payload: { login, password: PASSWORD } });
    const cookie = `mamori_session=${res.cookies.find((c) => c.name === 'mamori_session')!.value}`;
    const me = () => sessionNode.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } });
    if ((await me()).statusCode !== 200 || (await me()).statusCode !== 200) throw new Error('session not live');
    const t0 = performance.now();
    const r = await appA.inject({
      method: 'PATCH', url: `/scim/v2/Users/${user.id}`, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
      payload: JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] }),
    });
    const t1 = performance.now();
    if (r.statusCode !== 200) throw new Error(`SCIM ${r.statusCode}`);
    for (;;) {
      if ((await me()).statusCode === 401) break;
      if (performance.now() - t0 > 10_000) throw new Error('not refused within 10 s');
    }
    const t2 = performance.now();
    return { total: t2 - t0, afterResponse: t2 - t1 };
  }
  const cross: { total: number; afterResponse: number }[] = [];
  const same: { total: number; afterResponse: number }[] = [];
  for (let i = 0; i < LEAVERS; i++) {
    log(`scim-revoke: leaver ${i + 1}/${LEAVERS}`);
    cross.push(await measure(appB, i, 'cross'));
    same.push(await measure(appA, i, 'same'));
  }
  const med = (xs: number[]) => Number(percentile(xs, 50).toFixed(1));
  const value = med(cross.map((x) => x.total));
  const baseline = med(same.map((x) => x.total));
  printResult({
    bench: 'scim-revoke', value, unit: 'ms (median, SCIM call → first refused request on the other node)', baseline, ratio: Number((value / baseline).toFixed(2)),
    extra: {
      p95_ms: Number(percentile(cross.map((x) => x.total), 95).toFixed(1)),
      max_ms: Number(Math.max(...cross.map((x) => x.total)).toFixed(1)),
      after_response_median_ms: med(cross.map((x) => x.afterResponse)),
      same_node_after_response_median_ms: med(same.map((x) => x.afterResponse)),
      leavers: LEAVERS, target_ms: 1000,
    },
  });
} finally {
  for (const l of listeners) await l.close();
  await appA.close();
  await appB.close();
  await databaseB.close();
  await bench.close();
}
