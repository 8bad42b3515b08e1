/**
 * Door-card revocations reach the door controllers through the outbox: a leaver made in the console
 * writes one 'webhook' row in the leaver's transaction; the worker POSTs it over HTTPS to a real
 * peer whose certificate chains to the configured CA; a 503 is retried after the back-off with the
 * same Idempotency-Key, so the controller applies the event exactly once; once delivered it is never
 * sent again; a peer whose certificate is not trusted gets nothing; a 4xx gives the row up.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { startTestApp, type TestApp } from './support/app.ts';
import { testPki } from './support/tls.ts';
import { deliverDue, outboxHandlers, outboxRepository } from '../src/modules/outbox/index.ts';
import * as lifecycle from '../src/modules/lifecycle/index.ts';
import { system, userId } from './scim-support.ts';

type Seen = { key: string; authorization: string | undefined; body: { id: string; type: string; userId: string; cause: string; externalId: string | null } };
const seen: Seen[] = [];
/** Event ids the controller has applied (it deduplicates on the Idempotency-Key). */
const applied = new Set<string>();
let answers: number[] = [];
let t: TestApp;
let peer: https.Server;
let url = '';

before(async () => {
  const pki = await testPki();
  peer = https.createServer({ key: pki.key, cert: pki.cert }, (req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const key = String(req.headers['idempotency-key']);
      seen.push({ key, authorization: req.headers.authorization, body: JSON.parse(raw) });
      const status = answers.shift() ?? 200;
      if (status === 200) applied.add(key);
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((r) => peer.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(peer.address() as AddressInfo).port}/door-events`;
  t = await startTestApp({ demoContacts: 0 });
  t.ctx.door = { url, authorization: 'Bearer door-controller-secret', ca: pki.ca, cert: null, key: null };
});
after(async () => {
  await t?.close();
  await new Promise((r) => peer?.close(r));
});

const deliver = () => deliverDue(t.ctx, outboxHandlers(t.ctx).handlers);

async function doorRows(id: string) {
  return t.ctx.db.selectFrom('outbox').selectAll().where('category', '=', 'door').where('related_id', '=', id).execute();
}

test('a console leaver’s door revocation is delivered once over verified HTTPS, retried after a 503 with the same key', async () => {
  const id = await userId(t.ctx, 'itaku');
  await lifecycle.setUserStatus(t.ctx, system, id, 'retired', '退職');
  const rows = await doorRows(id);
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.kind, 'webhook');

  answers = [503];
  assert.deepEqual(await deliver(), { sent: 0, retrying: 1, failed: 0 });
  assert.equal(seen.length, 1);
  assert.deepEqual(await deliver(), { sent: 0, retrying: 0, failed: 0 }, 'not before the back-off');
  t.clock.advance(31_000);
  assert.deepEqual(await deliver(), { sent: 1, retrying: 0, failed: 0 });
  assert.equal(seen.length, 2);
  assert.equal(seen[0]!.key, seen[1]!.key, 'the retry carries the same Idempotency-Key');
  assert.equal(seen[1]!.key, rows[0]!.id);
  assert.deepEqual({ ...seen[1]!.body, id: undefined, at: undefined }, { id: undefined, at: undefined, type: 'door.revoke', userId: id, cause: 'console.retire', externalId: null });
  assert.equal(seen[1]!.body.id, rows[0]!.id);
  assert.equal(seen[1]!.authorization, 'Bearer door-controller-secret');
  assert.ok(!JSON.stringify(seen[1]!.body).includes('itaku'), 'no login, name or e-mail in the event');

  t.clock.advance(3_600_000);
  assert.deepEqual(await deliver(), { sent: 0, retrying: 0, failed: 0 });
  assert.equal(seen.length, 2, 'a delivered event is never sent again');
  assert.equal(applied.size, 1, 'applied exactly once');
  assert.equal((await outboxRepository(t.ctx.db).get(rows[0]!.id))?.status, 'sent');
});

test('a peer whose certificate is not trusted gets nothing; a 4xx answer gives the row up', async () => {
  const id = await userId(t.ctx, 'arubaito');
  await lifecycle.setUserStatus(t.ctx, system, id, 'suspended', '調査');
  const [row] = await doorRows(id);
  const ca = t.ctx.door!.ca;
  t.ctx.door = { ...t.ctx.door!, ca: null };
  const before = seen.length;
  assert.deepEqual(await deliver(), { sent: 0, retrying: 1, failed: 0 });
  assert.equal(seen.length, before, 'the TLS handshake failed: no request reached the peer');
  assert.match((await outboxRepository(t.ctx.db).get(row!.id))!.last_error ?? '', /certificate|self.signed|issuer/i);

  t.ctx.door = { ...t.ctx.door!, ca };
  answers = [400];
  t.clock.advance(3_600_000);
  assert.deepEqual(await deliver(), { sent: 0, retrying: 0, failed: 1 });
  assert.equal((await outboxRepository(t.ctx.db).get(row!.id))?.status, 'failed');
});
