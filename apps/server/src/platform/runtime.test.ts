import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { loadConfig } from '../config/config.ts';
import { openContext } from './bootstrap.ts';
import { createLogger } from './logger.ts';
import { V8_FLAGS } from './runtime.ts';

// v8.setFlagsFromString ignores a flag V8 does not know, without a word: after an upgrade of Node
// that renamed or dropped one, Mamori would silently run without it (ADR 0016). This Node's V8 must
// know every flag Mamori sets, and the setting must differ from V8's default (else it does nothing).
test('every V8 flag Mamori sets is one this Node knows, and not its default', () => {
  const options = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  for (const flag of V8_FLAGS) {
    const m = /^--(no-)?([a-z0-9-]+)$/.exec(flag);
    assert.ok(m, `${flag}: a boolean flag`);
    const name = m[2]!;
    const at = options.indexOf(`\n  --${name} (`);
    assert.ok(at >= 0, `${flag}: --${name} is not a V8 option of Node ${process.version}`);
    // Each option is listed with its type and default on the next line: "type: bool  default: --name".
    const entry = options.slice(at, options.indexOf('\n  --', at + 1));
    const byDefault = /default: --(no-)?[a-z0-9-]+/.exec(entry)?.[1] === undefined;
    const wanted = m[1] === undefined;
    assert.notEqual(wanted, byDefault, `${flag}: is already V8's default`);
  }
});

// Every process that runs Mamori (server, CLI commands, benches) starts through openContext: it sets
// the flags before anything else, so they are in force even for a start that then fails (here: a
// production configuration whose master key file does not exist).
test('opening Mamori\'s context sets its V8 flags first', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'mamori-runtime-'));
  const set = v8.setFlagsFromString;
  const seen: string[] = [];
  v8.setFlagsFromString = (flags: string) => {
    seen.push(flags);
    set(flags);
  };
  try {
    const config = loadConfig({ DATABASE_URL: 'postgres://127.0.0.1:1/none', MAMORI_MASTER_KEY_FILE: path.join(dir, 'missing.json'), MAMORI_LOG_KEY_FILE: path.join(dir, 'log.json'), MAMORI_DATA_DIR: dir }, dir);
    await assert.rejects(openContext(config, { logger: createLogger('silent') }), /ENOENT|master/i);
    assert.deepEqual(seen, [...V8_FLAGS]);
  } finally {
    v8.setFlagsFromString = set;
    await rm(dir, { recursive: true, force: true });
  }
});
