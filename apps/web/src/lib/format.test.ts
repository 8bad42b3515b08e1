import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addDays, formatDate, formatDateTime, isJstMidnight, jstDateTimeInput, jstDateTimeToIso, jstDay, jstDayToIso } from './format.ts';

test('date-times are shown in JST with 年月日, whatever the instant zone', () => {
  // 15:30 UTC is 00:30 the next day in Japan.
  assert.equal(formatDateTime('2026-11-24T15:30:05Z', 'ja'), '2026年11月25日 00:30:05');
  assert.equal(formatDateTime('2026-11-24T15:30:05Z', 'en'), '2026-11-25 00:30:05 JST');
  assert.equal(formatDateTime('2026-01-02T03:04:05Z', 'ja', { seconds: false }), '2026年1月2日 12:04');
  assert.equal(formatDate('2026-03-31T16:00:00Z', 'ja'), '2026年4月1日');
  assert.equal(formatDate('2026-03-31T16:00:00Z', 'en'), '2026-04-01');
});

test('nothing and nonsense render as a dash, not as "Invalid Date"', () => {
  assert.equal(formatDateTime(null, 'ja'), '—');
  assert.equal(formatDateTime('not a date', 'en'), '—');
  assert.equal(formatDate(undefined, 'ja'), '—');
});

test('a day picked in a date input is that day in Japan', () => {
  assert.equal(jstDayToIso('2026-11-25'), '2026-11-24T15:00:00.000Z');
  assert.equal(jstDayToIso('2026-11-25', { endOfDay: true }), '2026-11-25T15:00:00.000Z');
  assert.equal(jstDayToIso('2026-12-31', { endOfDay: true }), '2026-12-31T15:00:00.000Z');
  assert.equal(jstDayToIso('2026-02-30'), null);
  assert.equal(jstDayToIso('25/11/2026'), null);
  assert.equal(jstDay('2026-11-24T15:00:00.000Z'), '2026-11-25');
  assert.equal(addDays('2026-12-31', 1), '2027-01-01');
});

test('a date and time picked in a datetime-local input is that time in Japan', () => {
  assert.equal(jstDateTimeToIso('2026-11-25T18:30'), '2026-11-25T09:30:00.000Z');
  assert.equal(jstDateTimeToIso('2026-11-25T00:00'), '2026-11-24T15:00:00.000Z');
  assert.equal(jstDateTimeToIso('2026-11-25T24:00'), null);
  assert.equal(jstDateTimeToIso('2026-02-30T10:00'), null);
  assert.equal(jstDateTimeToIso(''), null);
  assert.equal(jstDateTimeInput('2026-11-25T09:30:00.000Z'), '2026-11-25T18:30');
  assert.equal(isJstMidnight('2026-11-24T15:00:00.000Z'), true);
  assert.equal(isJstMidnight('2026-11-25T09:30:00.000Z'), false);
});
