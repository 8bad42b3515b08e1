#!/usr/bin/env node
// Test runner wrapper: `npm test`, `npm run test:pg`, `npm run e2e`.
//
//   node scripts/run-tests.mjs [options] [filter...] [-- filter...]
//
//   filter                  run only test files whose path contains this substring (any of them)
//   --pg                    run against a real PostgreSQL: uses DATABASE_URL if already set,
//                           else starts a throwaway server (scripts/pg-temp.mjs) and stops it after
//   --e2e                   run e2e/**/*.test.ts instead of the unit/module tests (builds the web
//                           console first when apps/web/dist is missing or stale)
//   --summary-file <path>   also write {"passed":N,"failed":N,"skipped":N} there (for .ci/run)
//   --concurrency <n>       test files run at once (default 2, e2e included: its files spend much of
//                           their time waiting for the next TOTP step, so two overlap well)
//   --test-*=<value>        passed through to node (e.g. --test-name-pattern=vault)
//
// Test files: apps/*/src/**/*.test.ts, apps/*/test/**/*.test.ts, packages/*/src/**/*.test.ts
// (with --e2e: e2e/**/*.test.ts), sorted, run by node's test runner through tsx. Output is
// node's spec reporter; the last line is always `N passed, N failed` (`, N skipped` when > 0).
// Exit status is non-zero when a test failed, the runner failed, or no test ran.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REPORTER = pathToFileURL(join(ROOT, 'scripts', 'test-summary-reporter.mjs')).href;
const DEFAULT_TEST_TIMEOUT_MS = 10 * 60 * 1000; // per test and per file: a hang fails instead of eating CI's time (the SIGKILL crash test restarts the server 20 times)

function usage(msg) {
  if (msg) console.error(`run-tests: ${msg}`);
  console.error('usage: node scripts/run-tests.mjs [--pg] [--e2e] [--summary-file <path>] [--concurrency <n>] [--test-*=<v>] [filter...] [-- filter...]');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { pg: false, e2e: false, summaryFile: null, concurrency: null, nodeArgs: [], filters: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const takeValue = (name) => {
      const eq = a.indexOf('=');
      if (eq >= 0) return a.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) usage(`${name} needs a value`);
      return v;
    };
    if (a === '--') {
      opts.filters.push(...argv.slice(i + 1));
      break;
    } else if (a === '--pg') opts.pg = true;
    else if (a === '--e2e') opts.e2e = true;
    else if (a === '--summary-file' || a.startsWith('--summary-file=')) opts.summaryFile = resolve(takeValue('--summary-file'));
    else if (a === '--concurrency' || a.startsWith('--concurrency=')) {
      const n = Number(takeValue('--concurrency'));
      if (!Number.isInteger(n) || n < 1) usage('--concurrency must be a positive integer');
      opts.concurrency = n;
    } else if (a.startsWith('--test-') && a.includes('=')) opts.nodeArgs.push(a);
    else if (a === '-h' || a === '--help') usage();
    else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else opts.filters.push(a);
  }
  return opts;
}

/** Recursively collect *.test.ts under dir (skipping node_modules and dot dirs), as repo-relative posix paths. */
function collect(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) collect(p, out);
    else if (e.isFile() && e.name.endsWith('.test.ts')) out.push(relative(ROOT, p).split(sep).join('/'));
  }
}

function subdirs(dir) {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && e.name !== 'node_modules' && !e.name.startsWith('.'))
      .map((e) => join(dir, e.name));
  } catch {
    return [];
  }
}

function findTestFiles({ e2e = false, filters = [] } = {}) {
  const roots = e2e
    ? [join(ROOT, 'e2e')]
    : [
        ...subdirs(join(ROOT, 'apps')).flatMap((app) => [join(app, 'src'), join(app, 'test')]),
        ...subdirs(join(ROOT, 'packages')).map((pkg) => join(pkg, 'src')),
      ];
  const files = [];
  for (const r of roots) collect(r, files);
  const unique = [...new Set(files)].sort();
  return filters.length ? unique.filter((f) => filters.some((s) => f.includes(s))) : unique;
}

function summaryLine({ passed, failed, skipped }) {
  return `${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const counts = { passed: 0, failed: 0, skipped: 0 };
  const notes = [];
  let pg = null;
  let exitCode = 0;

  const finish = async () => {
    if (pg) {
      await pg.stop().catch((err) => console.error(`run-tests: stopping PostgreSQL failed: ${err}`));
    }
    if (counts.failed === 0 && counts.passed === 0) {
      notes.push('no test ran');
      exitCode = 1;
    }
    if (counts.failed > 0) exitCode = 1;
    if (opts.summaryFile) {
      mkdirSync(dirname(opts.summaryFile), { recursive: true });
      writeFileSync(opts.summaryFile, `${JSON.stringify(counts)}\n`);
    }
    for (const n of notes) console.log(`run-tests: ${n}`);
    console.log(summaryLine(counts));
    process.exitCode = exitCode;
  };

  const files = findTestFiles({ e2e: opts.e2e, filters: opts.filters });
  const kind = opts.e2e ? 'e2e' : 'unit/module';
  if (files.length === 0) {
    notes.push(`no ${kind} test files found${opts.filters.length ? ` matching ${opts.filters.map((f) => JSON.stringify(f)).join(', ')}` : ''}`);
    return finish();
  }

  const env = { ...process.env };
  if (opts.pg) {
    if (process.env.DATABASE_URL) {
      console.log(`run-tests: using the PostgreSQL at DATABASE_URL`);
    } else {
      try {
        const { startTempPostgres } = await import('./pg-temp.mjs');
        pg = await startTempPostgres({ log: (s) => console.log(s) });
        env.DATABASE_URL = pg.url;
        console.log(`run-tests: DATABASE_URL=${pg.url}`);
      } catch (err) {
        console.error(`run-tests: could not start PostgreSQL: ${err instanceof Error ? err.message : err}`);
        counts.failed = 1;
        notes.push('PostgreSQL did not start; no test ran');
        return finish();
      }
    }
  } else if (!opts.e2e && env.DATABASE_URL) {
    console.log('run-tests: DATABASE_URL is set, so database tests use that PostgreSQL (unset it for embedded PGlite)');
  }

  if (opts.e2e) {
    // e2e drives the built console: build it first when it is missing or older than its sources.
    try {
      const { ensureWebBuilt } = await import('./web-build.mjs');
      ensureWebBuilt({ log: (s) => console.log(`run-tests: ${s}`) });
    } catch (err) {
      console.error(`run-tests: ${err instanceof Error ? err.message : err}`);
      counts.failed = 1;
      notes.push('the web console did not build; no e2e test ran');
      return finish();
    }
  }

  const concurrency = opts.concurrency ?? 2;
  const tmp = mkdtempSync(join(tmpdir(), 'mamori-tests-'));
  const summaryPath = join(tmp, 'summary.json');
  const hasTimeout = opts.nodeArgs.some((a) => a.startsWith('--test-timeout='));
  const args = [
    '--import', 'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    ...(hasTimeout ? [] : [`--test-timeout=${DEFAULT_TEST_TIMEOUT_MS}`]),
    ...opts.nodeArgs,
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    `--test-reporter=${REPORTER}`, `--test-reporter-destination=${summaryPath}`,
    ...files,
  ];
  console.log(`run-tests: ${files.length} ${kind} test file(s)${opts.pg ? ' on PostgreSQL' : ''}, concurrency ${concurrency}`);

  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit'] });
  const forward = (sig) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, forward);
  const { code, signal } = await new Promise((res) => {
    child.on('error', (err) => res({ code: -1, signal: String(err) }));
    child.on('close', (c, s) => res({ code: c, signal: s }));
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.removeListener(sig, forward);

  let parsed = null;
  try {
    if (existsSync(summaryPath)) parsed = JSON.parse(readFileSync(summaryPath, 'utf8').trim().split('\n').pop() ?? '');
  } catch {
    parsed = null;
  }
  rmSync(tmp, { recursive: true, force: true });
  if (parsed) Object.assign(counts, parsed);

  if (code !== 0 && counts.failed === 0) {
    // Node failed without a counted failing test (runner crash, signal): make the summary say so.
    counts.failed = 1;
    notes.push(`node --test exited with ${signal ? `signal ${signal}` : `code ${code}`} without a reported test failure; counted as 1 failure`);
  } else if (!parsed) {
    counts.failed += 1;
    notes.push('no summary from the test reporter; counted as 1 failure');
  }
  return finish();
}

main().catch((err) => {
  console.error(err);
  console.log('0 passed, 1 failed');
  process.exitCode = 1;
});
