/**
 * Monitoring over the real audit stream: events come from the real API (handler and dispatch-worker
 * sessions) or are appended with chosen times and actors (the ManualClock), are integrated by the
 * sequencer, and the monitor evaluates them from its cursor. Each rule fires on the right events and
 * not on near misses; alerts are de-duplicated; the cursor resumes without re-alerting; rule changes
 * and alert transitions are audited and authorized; a new alert's mail reaches a real TLS SMTP peer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { startTestApp, signIn, PURPOSE, type Session, type TestApp } from '../../../test/support/app.ts';
import { startSmtpPeer, type SmtpPeer } from '../../../test/support/smtp.ts';
import { testPki } from '../../../test/support/tls.ts';
import { appendAudit, integrateAll, auditRepository } from '../audit/index.ts';
import { asUserId, type Actor } from '../identity/index.ts';
import type { AuditEventInput } from '../audit/index.ts';
import { deliverDue, outboxHandlers } from '../outbox/index.ts';
import { monitorAll, monitorOnce } from './index.ts';
import { monitorRepository } from './monitor.repository.ts';
import { DEFAULT_RULES, type MonitorRules } from './monitor.types.ts';

let t: TestApp;
let secops: Session;
let handler: Session;
let auditor: Session;
let smtp: SmtpPeer;
const SECOPS_MAIL = 'secops@mamori.test';

/** JST wall-clock time → instant. */
const jst = (s: string) => new Date(`${s}+09:00`);

function person(employment: 'employee' | 'dispatch' = 'employee'): Actor {
  return {
    kind: 'user', userId: asUserId(randomUUID()), login: 'someone', employmentType: employment, status: 'active', roles: ['handler'], groupIds: [],
    sessionRef: null, tokenId: null, mfa: true, passwordChangeRequired: false, terminal: { ip: '10.0.0.7', userAgent: 'test', deviceId: null }, requestId: null, grants: [],
  };
}

const READ = (records: string[] = [randomUUID()]): AuditEventInput => ({
  action: 'record.read', decision: 'allow', rule: 'grant.read', reason: 'ok', result: 'ok', datasetId: randomUUID(), recordIds: records, fields: ['company_name'], purpose: PURPOSE,
});
const DENY: AuditEventInput = { action: 'record.read', decision: 'deny', rule: 'grant.none', reason: 'no grant', result: 'denied' };

async function emit(at: Date, actor: Actor, e: AuditEventInput): Promise<void> {
  t.clock.set(at);
  await appendAudit(t.ctx.db, t.clock, actor, e);
}

async function run(): Promise<{ evaluated: number; raised: number }> {
  await integrateAll(t.ctx);
  return monitorAll(t.ctx);
}

async function alertsOf(userId: string | null, rule?: string) {
  const rows = await monitorRepository(t.ctx.db).listAlerts({ limit: 200, ...(rule ? { rule } : {}) });
  return rows.filter((a) => userId === null || a.subject_user_id === userId);
}

async function eventsWith(action: string) {
  return (await auditRepository(t.ctx.db).list({ action, limit: 500 })).map((r) => JSON.parse(r.payload) as { decision: string; actor: { user: string | null }; details: Record<string, any> });
}

async function setRules(patch: (r: MonitorRules) => void): Promise<void> {
  const cur = await secops.request('GET', '/api/monitor/rules');
  assert.equal(cur.status, 200);
  const rules = structuredClone(cur.json.rules) as MonitorRules;
  patch(rules);
  const r = await secops.request('PUT', '/api/monitor/rules', { rules, version: cur.json.version });
  assert.equal(r.status, 200, JSON.stringify(r.json));
}

before(async () => {
  t = await startTestApp({ demoContacts: 40 });
  // The tests move the clock across days: sessions outlive that.
  t.ctx.settings.sessionIdleMinutes = 7 * 24 * 60;
  t.ctx.settings.sessionAbsoluteHours = 7 * 24;
  secops = await signIn(t, 'secops');
  handler = await signIn(t, 'handler');
  auditor = await signIn(t, 'auditor');
  await t.ctx.db.updateTable('users').set({ email: SECOPS_MAIL }).where('login', '=', 'secops').execute();
  smtp = await startSmtpPeer('starttls');
  t.ctx.mail = { url: smtp.url, from: 'mamori@mamori.test', ca: (await testPki()).ca, auth: null };
  // Everything the seed and sign-ins wrote is evaluated first, under the default rules.
  await run();
});
after(async () => {
  await smtp.close();
  await t.close();
});

describe('rules as configuration', () => {
  test('defaults exist; the security center changes them (audited with what changed); others may not; bad and stale changes are refused', async () => {
    const cur = await secops.request('GET', '/api/monitor/rules');
    assert.deepEqual(cur.json.rules, DEFAULT_RULES);
    assert.ok(cur.json.holidaysThrough >= '2030-01-01', 'the holiday table reaches years ahead');
    const version = cur.json.version as number;

    const bad = structuredClone(DEFAULT_RULES) as any;
    bad.bulkRead.threshold = 0;
    assert.equal((await secops.request('PUT', '/api/monitor/rules', { rules: bad, version })).status, 400);
    const unknownKey = { ...structuredClone(DEFAULT_RULES), extra: true };
    assert.equal((await secops.request('PUT', '/api/monitor/rules', { rules: unknownKey, version })).status, 400);
    const backwards = structuredClone(DEFAULT_RULES);
    backwards.offHours.start = '18:00';
    backwards.offHours.end = '09:00';
    assert.equal((await secops.request('PUT', '/api/monitor/rules', { rules: backwards, version })).status, 400);

    const denied = await handler.request('PUT', '/api/monitor/rules', { rules: DEFAULT_RULES, version });
    assert.equal(denied.status, 403);
    assert.equal((await auditor.request('PUT', '/api/monitor/rules', { rules: DEFAULT_RULES, version })).status, 403, 'auditors read, never change');
    assert.equal((await auditor.request('GET', '/api/monitor/rules')).status, 200);
    assert.equal((await handler.request('GET', '/api/monitor/rules')).status, 403);

    await setRules((r) => {
      r.bulkRead.threshold = 5;
      r.repeatedDenials.threshold = 3;
      r.repeatedDenials.windowMinutes = 10;
    });
    const again = await secops.request('GET', '/api/monitor/rules');
    assert.equal(again.json.version, version + 1);
    assert.equal((await secops.request('PUT', '/api/monitor/rules', { rules: again.json.rules, version })).status, 409, 'a stale version is refused');

    const changes = (await eventsWith('monitor.rules.update')).filter((e) => e.decision === 'allow');
    assert.equal(changes.length, 1);
    assert.deepEqual(changes[0]!.details.changes.bulkRead, { before: DEFAULT_RULES.bulkRead, after: { ...DEFAULT_RULES.bulkRead, threshold: 5 } });
    const denials = (await eventsWith('monitor.rules.update')).filter((e) => e.decision === 'deny');
    assert.equal(denials.length, 2, 'the handler and the auditor attempts are on record');
    await run();
  });
});

describe('rules', () => {
  test('bulk reads: under the threshold nothing; at the threshold one alert per user and hour, later reads added to it', async () => {
    // Through the real API: the handler's searches are audited with the records returned.
    t.clock.set(jst('2026-11-25T10:05:00'));
    const four = await handler.request('POST', '/api/datasets/contacts/records/search', { purpose: PURPOSE, criteria: [], limit: 4 });
    assert.equal(four.json.records.length, 4);
    await run();
    const handlerId = (await handler.request('GET', '/api/auth/me')).json.user.id as string;
    assert.equal((await alertsOf(handlerId, 'bulk_read')).length, 0, 'four records: one under the threshold of five');

    t.clock.set(jst('2026-11-25T10:20:00'));
    const id = four.json.records[0].id as string;
    assert.equal((await handler.request('GET', `/api/datasets/contacts/records/${id}?purpose=${encodeURIComponent(PURPOSE)}`)).status, 200);
    await handler.request('POST', '/api/datasets/contacts/records/search', { purpose: PURPOSE, criteria: [], limit: 3 });
    await run();
    const alerts = await alertsOf(handlerId, 'bulk_read');
    assert.equal(alerts.length, 1, 'one alert, not one per event');
    const a = alerts[0]!;
    assert.equal(a.severity, 'high');
    assert.equal(a.event_count, 3);
    assert.equal(a.evidence.length, 3);
    assert.equal((a.summary as any).records, 8);
    assert.equal((a.summary as any).windowStart, '2026-11-25T01:00:00.000Z');
    // The evidence is log indexes of the handler's own record events.
    for (const idx of a.evidence) {
      const [e] = await auditRepository(t.ctx.db).integratedRange(idx, 1);
      const ev = JSON.parse(e!.payload);
      assert.equal(ev.actor.user, handlerId);
      assert.match(ev.action, /^record\.(search|read)$/);
    }

    // The next hour starts from zero.
    t.clock.set(jst('2026-11-25T11:05:00'));
    await handler.request('POST', '/api/datasets/contacts/records/search', { purpose: PURPOSE, criteria: [], limit: 4 });
    await run();
    assert.equal((await alertsOf(handlerId, 'bulk_read')).length, 1);
    assert.equal((await alertsOf(handlerId, 'bulk_read'))[0]!.event_count, 3);
  });

  test('outside business hours: 17:59 no, 18:01 yes; weekends and national holidays (2026-11-23 勤労感謝の日) yes; one alert per user and day', async () => {
    const a = person();
    await emit(jst('2026-11-25T09:00:00'), a, READ());
    await emit(jst('2026-11-25T17:59:00'), a, READ());
    await run();
    assert.equal((await alertsOf(a.userId, 'off_hours')).length, 0);
    await emit(jst('2026-11-25T18:01:00'), a, READ());
    await emit(jst('2026-11-25T23:30:00'), a, READ());
    await emit(jst('2026-11-25T23:40:00'), a, { action: 'auth.login', decision: 'allow', rule: 'auth.password', reason: 'ok', result: 'ok' });
    await run();
    let alerts = await alertsOf(a.userId, 'off_hours');
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]!.event_count, 2, 'the sign-in is not record access');
    assert.deepEqual(alerts[0]!.summary, { date: '2026-11-25', reason: 'hours', holiday: null });

    const b = person();
    await emit(jst('2026-11-24T10:00:00'), b, READ()); // Tuesday: a working day
    await emit(jst('2026-11-23T10:00:00'), b, READ()); // Monday, 勤労感謝の日
    await emit(jst('2026-11-28T10:00:00'), b, READ()); // Saturday
    await run();
    alerts = (await alertsOf(b.userId, 'off_hours')).sort((x, y) => String((x.summary as any).date).localeCompare((y.summary as any).date));
    assert.equal(alerts.length, 2);
    assert.deepEqual(alerts[0]!.summary, { date: '2026-11-23', reason: 'holiday', holiday: '勤労感謝の日' });
    assert.deepEqual(alerts[1]!.summary, { date: '2026-11-28', reason: 'weekend', holiday: null });
  });

  test('repeated denials: counted in a sliding window; the threshold within the window raises one alert, later denials join it', async () => {
    const c = person();
    const t0 = jst('2026-11-25T11:00:00');
    const at = (min: number) => new Date(t0.getTime() + min * 60_000);
    await emit(at(0), c, DENY);
    await emit(at(5), c, DENY);
    await emit(at(11), c, DENY); // the first has left the 10-minute window: two in it
    await run();
    assert.equal((await alertsOf(c.userId, 'repeated_denials')).length, 0);
    await emit(at(12), c, DENY); // 5, 11, 12: three in ten minutes
    await emit(at(13), c, DENY);
    await run();
    const alerts = await alertsOf(c.userId, 'repeated_denials');
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]!.event_count, 4);
    assert.equal((alerts[0]!.summary as any).denials, 3);
  });

  test('dispatch worker: allowed company-only reads raise nothing; any personal-data attempt is a critical alert, mailed to the security center', async () => {
    const haken = await signIn(t, 'haken');
    const hakenId = (await haken.request('GET', '/api/auth/me')).json.user.id as string;
    t.clock.set(jst('2026-11-25T14:00:00'));
    const ok = await haken.request('POST', '/api/datasets/contacts/records/search', { purpose: PURPOSE, criteria: [], limit: 1 });
    assert.equal(ok.status, 200);
    await run();
    assert.equal((await alertsOf(hakenId, 'dispatch_personal')).length, 0);

    const id = ok.json.records[0].id as string;
    const attempt = await haken.request('POST', `/api/datasets/contacts/records/${id}/unmask`, { field: 'person_name', purpose: PURPOSE });
    assert.equal(attempt.status, 403);
    await run();
    const alerts = await alertsOf(hakenId, 'dispatch_personal');
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]!.severity, 'critical');

    // An allowed event naming a personal field (whatever let it through) is caught as well.
    const other = person('dispatch');
    const ds = (await handler.request('GET', '/api/datasets')).json.datasets.find((d: { name: string }) => d.name === 'contacts');
    await emit(jst('2026-11-25T14:10:00'), other, { ...READ(), datasetId: ds.id, fields: ['company_name'] });
    await run();
    assert.equal((await alertsOf(other.userId, 'dispatch_personal')).length, 0, 'company fields only');
    await emit(jst('2026-11-25T14:11:00'), other, { ...READ(), datasetId: ds.id, fields: ['company_name', 'email'] });
    await run();
    assert.equal((await alertsOf(other.userId, 'dispatch_personal')).length, 1);

    // The critical alert went out by mail through the outbox, over TLS, to the security center.
    const { handlers, close } = outboxHandlers(t.ctx);
    await deliverDue(t.ctx, handlers);
    close();
    const mail = smtp.received.find((m) => m.parsed.text?.includes(alerts[0]!.id));
    assert.ok(mail, 'the alert mail arrived');
    assert.equal(mail.secure, true);
    assert.deepEqual(mail.envelope.to, [SECOPS_MAIL]);
    assert.match(mail.parsed.subject ?? '', /Alert \(critical\)/);
    assert.ok(!mail.raw.includes(hakenId) && !mail.raw.includes(id), 'no user or record ids in the mail');
  });

  test('watched (canary / VIP) records: reading another record raises nothing; reading a watched one does', async () => {
    const [canary, vip, plain] = [randomUUID(), randomUUID(), randomUUID()];
    await setRules((r) => {
      r.watchedRecords.records = [{ recordId: canary, kind: 'canary' }, { recordId: vip, kind: 'vip' }];
    });
    const d = person();
    await emit(jst('2026-11-25T15:00:00'), d, READ([plain]));
    await run();
    assert.equal((await alertsOf(d.userId, 'watched_record')).length, 0);
    await emit(jst('2026-11-25T15:01:00'), d, { ...READ([plain, canary, vip]), action: 'record.search' });
    await run();
    const alerts = await alertsOf(d.userId, 'watched_record');
    assert.deepEqual(alerts.map((a) => (a.summary as any).kind).sort(), ['canary', 'vip']);
    const change = (await eventsWith('monitor.rules.update')).find((e) => e.details.changes?.watchedRecords);
    assert.deepEqual(change!.details.changes.watchedRecords.added.sort(), [`${canary}:canary`, `${vip}:vip`].sort(), 'the audit names the watched ids added');
  });

  test('medium alerts are below the mail threshold: no mail is queued for them', async () => {
    const offHours = (await alertsOf(null, 'off_hours'))[0]!;
    const rows = await t.ctx.db.selectFrom('outbox').select('id').where('related_id', '=', offHours.id).execute();
    assert.equal(rows.length, 0);
  });
});

describe('the consumer', () => {
  test('resumes from its cursor after a restart without evaluating anything twice', async () => {
    const e = person();
    const t0 = jst('2026-11-25T16:00:00');
    for (let i = 0; i < 6; i++) await emit(new Date(t0.getTime() + i * 1000), e, DENY);
    await integrateAll(t.ctx);
    // Small batches, each by a "new process" (a fresh context on the same database).
    for (;;) {
      const restarted = { ...t.ctx };
      const r = await monitorOnce(restarted, { batch: 2 });
      assert.ok(r);
      if (r.evaluated === 0) break;
    }
    const alerts = await alertsOf(e.userId, 'repeated_denials');
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]!.event_count, 6, 'three raised it, three joined it: none counted twice');
    assert.equal(await monitorRepository(t.ctx.db).peekCursor(), await auditRepository(t.ctx.db).treeSize());
    assert.deepEqual(await monitorAll(t.ctx), { evaluated: 0, raised: 0, next: await auditRepository(t.ctx.db).treeSize() });
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /mamori_monitor_lag_events 0/);
    assert.match(metrics, /mamori_alerts_not_closed\{severity="medium",status="open"\} [1-9]/);
  });

  test('a batch that fails midway leaves no alert and does not move the cursor; the retry evaluates it exactly once', async () => {
    const g = person('dispatch');
    // The log so far evaluated (the earlier tests' alert events too), so that the failing batch is this
    // one event: timed before those events, it would otherwise start a batch of its own after them
    // (the engine's withinHorizon), and their batch would move the cursor.
    await run();
    await emit(jst('2026-11-25T14:30:00'), g, { ...DENY, rule: 'dispatch.no_personal', fields: ['email'] });
    await integrateAll(t.ctx);
    const cursor = await monitorRepository(t.ctx.db).peekCursor();
    // A real failure inside the batch: the critical alert's mail cannot be written.
    await sql`ALTER TABLE outbox RENAME TO outbox_away`.execute(t.ctx.db);
    try {
      await assert.rejects(monitorAll(t.ctx));
    } finally {
      await sql`ALTER TABLE outbox_away RENAME TO outbox`.execute(t.ctx.db);
    }
    assert.equal((await alertsOf(g.userId, 'dispatch_personal')).length, 0, 'the alert rolled back with the mail');
    assert.equal(await monitorRepository(t.ctx.db).peekCursor(), cursor, 'the cursor did not move');
    await monitorAll(t.ctx);
    const alerts = await alertsOf(g.userId, 'dispatch_personal');
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]!.event_count, 1);
    assert.equal((await t.ctx.db.selectFrom('outbox').select('id').where('related_id', '=', alerts[0]!.id).execute()).length, 1, 'one mail');
  });

  test('two evaluators at once (two nodes) evaluate each event once', async () => {
    const h = person();
    const t0 = jst('2026-11-25T16:10:00');
    for (let i = 0; i < 4; i++) await emit(new Date(t0.getTime() + i * 1000), h, DENY);
    await integrateAll(t.ctx);
    const [a, b] = await Promise.all([monitorOnce(t.ctx), monitorOnce({ ...t.ctx })]);
    assert.ok(a !== null || b !== null, 'one of them evaluated');
    await monitorAll(t.ctx);
    const alerts = await alertsOf(h.userId, 'repeated_denials');
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]!.event_count, 4);
  });

  test('a malformed stored address does not stop monitoring: the alert is raised, the mail goes to valid addresses only', async () => {
    await t.ctx.db.updateTable('users').set({ email: 'not an address' }).where('login', '=', 'secops').execute();
    try {
      const k = person('dispatch');
      await emit(jst('2026-11-25T14:40:00'), k, { ...DENY, rule: 'dispatch.no_personal' });
      await run();
      const [alert] = await alertsOf(k.userId, 'dispatch_personal');
      assert.ok(alert);
      assert.equal((await t.ctx.db.selectFrom('outbox').select('id').where('related_id', '=', alert.id).execute()).length, 0);
    } finally {
      await t.ctx.db.updateTable('users').set({ email: SECOPS_MAIL }).where('login', '=', 'secops').execute();
    }
  });

  test('monitoring never alerts on its own events: raising and reading alerts feeds nothing back', async () => {
    const raisedBefore = (await eventsWith('alert.raise')).length;
    const alertsBefore = (await monitorRepository(t.ctx.db).listAlerts({ limit: 500 })).length;
    assert.equal(raisedBefore, alertsBefore, 'every alert raised is on the audit log');
    await secops.request('GET', '/api/alerts');
    for (let i = 0; i < 3; i++) {
      const r = await run();
      assert.equal(r.raised, 0);
    }
    assert.equal((await monitorRepository(t.ctx.db).listAlerts({ limit: 500 })).length, alertsBefore);
  });
});

describe('alerts', () => {
  test('the security center lists, filters, reads (with evidence events), acknowledges and closes with a note; each step audited', async () => {
    t.clock.set(jst('2026-11-25T16:30:00'));
    const list = await secops.request('GET', '/api/alerts?status=open&severity=critical');
    assert.equal(list.status, 200);
    assert.ok(list.json.alerts.length >= 1);
    for (const a of list.json.alerts) {
      assert.equal(a.status, 'open');
      assert.equal(a.severity, 'critical');
    }
    const id = list.json.alerts.find((a: { subjectLogin: string | null }) => a.subjectLogin === 'haken').id as string;
    const detail = await secops.request('GET', `/api/alerts/${id}`);
    assert.equal(detail.status, 200);
    assert.equal(detail.json.alert.events.length, detail.json.alert.evidence.length);
    assert.equal(detail.json.alert.subjectLogin, 'haken');

    assert.equal((await secops.request('POST', `/api/alerts/${id}/close`, { note: '   ' })).status, 400, 'closing needs a note');
    const ack = await secops.request('POST', `/api/alerts/${id}/acknowledge`, { note: '確認中' });
    assert.equal(ack.status, 200);
    assert.equal(ack.json.alert.status, 'acknowledged');
    assert.equal(ack.json.alert.acknowledgedBy, 'secops');
    assert.equal((await secops.request('POST', `/api/alerts/${id}/acknowledge`, {})).status, 409);
    const closed = await secops.request('POST', `/api/alerts/${id}/close`, { note: '派遣元に確認済み。操作ミス。' });
    assert.equal(closed.status, 200);
    assert.equal(closed.json.alert.status, 'closed');
    assert.equal(closed.json.alert.closeNote, '派遣元に確認済み。操作ミス。');
    assert.deepEqual(closed.json.alert.notes.map((n: { status: string }) => n.status), ['acknowledged', 'closed']);
    assert.equal((await secops.request('POST', `/api/alerts/${id}/close`, { note: 'again' })).status, 409);

    const updates = (await eventsWith('alert.update')).filter((e) => e.details.alertId === id);
    assert.deepEqual(updates.map((e) => `${e.details.from}→${e.details.to}`).sort(), ['acknowledged→closed', 'open→acknowledged']);
    assert.ok((await eventsWith('alert.read')).some((e) => e.details.alertId === id), 'reading an alert is audited');
  });

  test('a handler cannot read alerts (denied and audited); an auditor reads but cannot act; an administrator sees no evidence events', async () => {
    const denied = await handler.request('GET', '/api/alerts');
    assert.equal(denied.status, 403);
    const handlerId = (await handler.request('GET', '/api/auth/me')).json.user.id as string;
    assert.ok((await eventsWith('alert.read')).some((e) => e.decision === 'deny' && e.actor.user === handlerId));
    const one = (await auditor.request('GET', '/api/alerts?status=open')).json.alerts[0];
    assert.ok(one);
    assert.equal((await handler.request('GET', `/api/alerts/${one.id}`)).status, 403);
    assert.equal((await auditor.request('POST', `/api/alerts/${one.id}/acknowledge`, {})).status, 403);
    assert.equal((await auditor.request('POST', `/api/alerts/${one.id}/close`, { note: 'x' })).status, 403);
    assert.ok((await auditor.request('GET', `/api/alerts/${one.id}`)).json.alert.events !== null, 'auditors may read the log');
    const admin = await signIn(t, 'admin');
    const asAdmin = await admin.request('GET', `/api/alerts/${one.id}`);
    assert.equal(asAdmin.status, 200);
    assert.equal(asAdmin.json.alert.events, null, 'administrators do not read the audit log: indexes only');
    assert.equal((await secops.request('GET', `/api/alerts/${randomUUID()}`)).status, 404);
  });

  test('after an alert is closed, a new hit with the same key opens a new alert', async () => {
    const f = person();
    await emit(jst('2026-11-25T20:00:00'), f, READ());
    await run();
    const [first] = await alertsOf(f.userId, 'off_hours');
    assert.ok(first);
    t.clock.set(jst('2026-11-25T20:05:00'));
    assert.equal((await secops.request('POST', `/api/alerts/${first.id}/close`, { note: '残業申請あり' })).status, 200);
    await emit(jst('2026-11-25T21:00:00'), f, READ());
    await run();
    const alerts = await alertsOf(f.userId, 'off_hours');
    assert.equal(alerts.length, 2);
    assert.equal(alerts.filter((a) => a.status === 'open').length, 1);
  });
});
