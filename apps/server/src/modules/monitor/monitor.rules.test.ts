import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateEvent, outsideBusinessHours, parseEvent } from './monitor.rules.ts';
import { DEFAULT_RULES } from './monitor.types.ts';

const at = (jst: string) => new Date(`${jst}+09:00`);
const hours = DEFAULT_RULES.offHours;

test('business hours are JST, start inclusive, end exclusive', () => {
  assert.equal(outsideBusinessHours(at('2026-11-25T08:59:00'), hours)?.reason, 'hours');
  assert.equal(outsideBusinessHours(at('2026-11-25T09:00:00'), hours), null);
  assert.equal(outsideBusinessHours(at('2026-11-25T17:59:59'), hours), null);
  assert.equal(outsideBusinessHours(at('2026-11-25T18:00:00'), hours)?.reason, 'hours');
  // 00:30 JST on Thursday is still Wednesday 15:30 UTC: the JST date and hour decide.
  assert.equal(outsideBusinessHours(new Date('2026-11-25T15:30:00Z'), hours)?.date, '2026-11-26');
});

test('national holidays, substitute holidays and weekends; holidays can be switched off', () => {
  assert.deepEqual(outsideBusinessHours(at('2026-11-23T10:00:00'), hours), { reason: 'holiday', holiday: '勤労感謝の日', date: '2026-11-23' });
  assert.equal(outsideBusinessHours(at('2026-05-06T10:00:00'), hours)?.reason, 'holiday', '振替休日');
  assert.equal(outsideBusinessHours(at('2026-11-29T10:00:00'), hours)?.reason, 'weekend');
  assert.equal(outsideBusinessHours(at('2026-11-23T10:00:00'), { ...hours, holidays: false }), null);
  assert.equal(outsideBusinessHours(at('2026-11-28T10:00:00'), { ...hours, weekdays: [1, 2, 3, 4, 5, 6] }), null);
});

test("the monitor's own events are never evaluated, whatever they look like", () => {
  const payload = (action: string) => JSON.stringify({
    at: '2026-11-25T15:00:00Z', action, dataset: null, records: ['00000000-0000-7000-8000-000000000001'], fields: [], decision: 'deny', rule: 'dispatch.no_personal', result: 'denied',
    actor: { kind: 'user', user: '00000000-0000-7000-8000-000000000002', employment: 'dispatch' }, terminal: { ip: null },
  });
  const rules = { ...DEFAULT_RULES, watchedRecords: { ...DEFAULT_RULES.watchedRecords, records: [{ recordId: '00000000-0000-7000-8000-000000000001', kind: 'canary' as const }] } };
  const own = evaluateEvent(parseEvent(1, payload('alert.raise')), rules, new Map());
  assert.deepEqual(own, { hits: [], observations: [] });
  const same = evaluateEvent(parseEvent(2, payload('record.read')), rules, new Map());
  assert.deepEqual(same.hits.map((h) => h.rule).sort(), ['dispatch_personal', 'off_hours', 'watched_record']);
  assert.deepEqual(same.observations.map((o) => o.rule), ['repeated_denials']);
});
