import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isUuid, uuidv7 } from './ids.ts';

test('uuidv7: RFC 9562 version and variant, unique, and strictly increasing within a process', () => {
  const ids = Array.from({ length: 20_000 }, () => uuidv7());
  assert.equal(new Set(ids).size, ids.length);
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!, `order broke at ${i}`);
  for (const id of ids.slice(0, 100)) {
    assert.ok(isUuid(id));
    assert.equal(id[14], '7');
    assert.ok('89ab'.includes(id[19]!));
  }
});

test('uuidv7 carries the timestamp in its first 48 bits', () => {
  const at = Date.UTC(2030, 0, 1);
  const id = uuidv7(at + 10_000_000);
  assert.equal(parseInt(id.replace(/-/g, '').slice(0, 12), 16), at + 10_000_000);
});
