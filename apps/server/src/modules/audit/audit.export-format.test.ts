import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportEvent, jsonlLine, octetCounted, syslogMessage, SD_ID } from './audit.export-format.ts';
import { repairJsonlFile } from './audit.export-sinks.ts';
import { parseRfc5424, splitFrames } from '../../../test/support/syslog.ts';

const payload = JSON.stringify({ v: 1, at: '2026-11-25T01:02:03.456Z', action: 'record.read', decision: 'deny', reason: '理由 "x" ]' });

test('syslog: RFC 5424 header, escaped SD params, BOM + canonical bytes, octet counting', () => {
  const e = exportEvent(41, payload);
  const frame = octetCounted(syslogMessage(e, { hostname: 'node-1', treeSize: 42, origin: 'example.org/a"b\\c]d' }));
  const { frames, rest } = splitFrames(Buffer.concat([frame, frame.subarray(0, 5)]));
  assert.equal(frames.length, 1);
  assert.equal(rest.length, 5, 'a partial frame waits for its remaining bytes');
  const m = parseRfc5424(frames[0]!);
  assert.deepEqual(
    { pri: m.pri, version: m.version, timestamp: m.timestamp, hostname: m.hostname, appName: m.appName, procId: m.procId, msgId: m.msgId },
    { pri: 13 * 8 + 5, version: 1, timestamp: '2026-11-25T01:02:03.456Z', hostname: 'node-1', appName: 'mamori', procId: '-', msgId: 'record.read' },
  );
  assert.deepEqual(m.sd, [{ id: SD_ID, params: { seq: '41', leafHash: e.leafHash.toString('base64'), treeSize: '42', origin: 'example.org/a"b\\c]d' } }]);
  assert.equal(m.msg.subarray(3).toString('utf8'), payload);
});

test('syslog: header fields are printable ASCII, MSGID at most 32 characters, NILVALUE when absent', () => {
  const long = JSON.stringify({ at: 'not a time', action: 'a'.repeat(40) + ' x', decision: 'allow' });
  const m = parseRfc5424(syslogMessage(exportEvent(0, long), { hostname: 'h', treeSize: 1, origin: 'o' }));
  assert.equal(m.msgId, 'a'.repeat(32));
  assert.equal(m.timestamp, '-');
  assert.equal(m.pri, 13 * 8 + 6);
  const none = parseRfc5424(syslogMessage(exportEvent(0, '{}'), { hostname: 'h', treeSize: 1, origin: 'o' }));
  assert.equal(none.msgId, '-');
});

test('JSON Lines: seq, leaf hash, and the event bytes verbatim', () => {
  const line = jsonlLine(exportEvent(7, payload));
  const x = JSON.parse(line) as { seq: number; event: unknown };
  assert.equal(x.seq, 7);
  assert.equal(JSON.stringify(x.event), payload);
  assert.ok(line.endsWith(`"event":${payload}}`));
});

test('JSON Lines file repair: a torn last line is cut; the next seq follows the last complete line', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'mamori-jsonl-'));
  try {
    const file = path.join(dir, 'a.jsonl');
    assert.equal(await repairJsonlFile(file), null, 'missing file');
    await writeFile(file, '');
    assert.equal(await repairJsonlFile(file), null, 'empty file');
    await writeFile(file, '{"seq":0,"le');
    assert.equal(await repairJsonlFile(file), null, 'only a torn line');
    assert.equal(await readFile(file, 'utf8'), '');
    const lines = [0, 1, 2].map((i) => jsonlLine(exportEvent(i, payload)) + '\n').join('');
    await writeFile(file, lines + '{"seq":3,"leafHash":"ab');
    assert.equal(await repairJsonlFile(file), 3);
    assert.equal(await readFile(file, 'utf8'), lines);
    const big = jsonlLine(exportEvent(3, JSON.stringify({ pad: 'x'.repeat(200_000) }))) + '\n';
    await writeFile(file, lines + big);
    assert.equal(await repairJsonlFile(file), 4, 'a last line longer than one read');
    await writeFile(file, lines + 'not json\n');
    await assert.rejects(repairJsonlFile(file), /not an exported event/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
