/**
 * The `mamori` command's loader (bin/bundle.mjs, ADR 0015): a cached bundle is used only while every
 * source it was built from is unchanged, a changed source rebuilds it, files found through
 * `import.meta.url` are found beside their source, and where no cache can be written the sources run
 * through tsx.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { freshBundle, loadEntry } from '../bin/bundle.mjs';

type Probe = { value: string; beside: string; name: string; pino?: string };
const probe = () => (globalThis as { bundleProbe?: Probe }).bundleProbe;

/** A project in a temporary folder; `withPackage`: its entry also imports a package the bundle leaves outside (pino). */
async function project(opts: { withPackage?: boolean } = {}): Promise<{ dir: string; entry: string; cache: string; setValue(v: string): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mamori-bundle-'));
  const entry = path.join(dir, 'entry.ts');
  await writeFile(entry, [
    "import { value } from './sub/value.ts';",
    "import { basename } from 'node:path';",
    ...(opts.withPackage ? ["import pino from 'pino';"] : []),
    'const name: string = basename(new URL(import.meta.url).pathname);',
    `(globalThis as { bundleProbe?: unknown }).bundleProbe = { value, beside: new URL('./data.txt', import.meta.url).href, name${opts.withPackage ? ', pino: typeof pino' : ''} };`,
  ].join('\n'));
  const past = new Date(Date.now() - 120_000);
  await utimes(entry, past, past);
  let written = 0;
  const setValue = async (v: string) => {
    await mkdir(path.join(dir, 'sub'), { recursive: true });
    const file = path.join(dir, 'sub', 'value.ts');
    await writeFile(file, `export const value: string = ${JSON.stringify(v)};\n`);
    // Each version a modification time of its own, in the past (a source changed while it was being
    // bundled is never recorded), whatever the file system's clock resolution.
    const at = new Date(Date.now() - 60_000 + 1000 * written++);
    await utimes(file, at, at);
  };
  await setValue('one');
  return { dir, entry, cache: path.join(dir, 'cache'), setValue };
}

test('the command runs from a cached bundle while its sources are unchanged, and a changed source rebuilds it', async () => {
  const p = await project();
  try {
    assert.equal(freshBundle(p.cache, p.entry), null, 'nothing cached yet');
    assert.equal(await loadEntry(p.entry, p.cache), 'bundle');
    assert.equal(probe()?.value, 'one');
    assert.equal(probe()?.name, 'entry.ts', 'import.meta.url is the source file, not the bundle');
    assert.equal(probe()?.beside, pathToFileURL(path.join(p.dir, 'data.txt')).href, 'files beside a source are found beside it');
    const first = freshBundle(p.cache, p.entry);
    assert.ok(first, 'the bundle is recorded as fresh');
    assert.deepEqual(first.inputs.map(([f]) => path.relative(p.dir, f)).sort(), ['entry.ts', path.join('sub', 'value.ts')]);

    // Unchanged: the same bundle again, not a new build.
    assert.equal(await loadEntry(p.entry, p.cache), 'bundle');
    assert.equal(freshBundle(p.cache, p.entry)?.dir, first.dir);

    // A source changes: the record no longer holds, the next start builds and runs the new text.
    await p.setValue('two');
    assert.equal(freshBundle(p.cache, p.entry), null, 'a changed input makes the bundle stale');
    assert.equal(await loadEntry(p.entry, p.cache), 'bundle');
    assert.equal(probe()?.value, 'two');
    const second = freshBundle(p.cache, p.entry);
    assert.ok(second && second.dir !== first.dir, 'a new bundle in a directory of its own');
    assert.ok((await readdir(p.cache)).includes(first.dir), 'an earlier bundle stays while a start may still be loading it');

    // Another entry is not served from this record.
    assert.equal(freshBundle(p.cache, path.join(p.dir, 'other.ts')), null);
  } finally {
    await rm(p.dir, { recursive: true, force: true });
  }
});

test('a source changed while its bundle is built is not recorded, and bundles an hour old are cleared away', async () => {
  const p = await project();
  try {
    await mkdir(p.cache, { recursive: true });
    const old = path.join(p.cache, 'b0old-1');
    const recent = path.join(p.cache, 'b0recent-2');
    for (const d of [old, recent]) await mkdir(d);
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    await utimes(old, twoHoursAgo, twoHoursAgo);

    // A modification time at or after the build's start: the file may have changed under esbuild.
    await p.setValue('moving');
    const later = new Date(Date.now() + 60_000);
    await utimes(path.join(p.dir, 'sub', 'value.ts'), later, later);
    assert.equal(await loadEntry(p.entry, p.cache), 'bundle', 'the bundle just built is still used');
    assert.equal(probe()?.value, 'moving');
    assert.equal(freshBundle(p.cache, p.entry), null, 'but not recorded: the next start builds again');

    await p.setValue('settled');
    assert.equal(await loadEntry(p.entry, p.cache), 'bundle');
    assert.ok(freshBundle(p.cache, p.entry), 'recorded once the sources hold still');
    const left = await readdir(p.cache);
    assert.ok(!left.includes('b0old-1'), 'a bundle two hours old is removed');
    assert.ok(left.includes('b0recent-2'), 'a recent one stays (a start may be loading it)');
  } finally {
    await rm(p.dir, { recursive: true, force: true });
  }
});

test('a cache outside the installation still finds the packages the bundle leaves outside', async () => {
  // As MAMORI_CLI_CACHE_DIR=/var/cache/mamori: nothing above the bundle's file holds a node_modules.
  const p = await project({ withPackage: true });
  try {
    assert.equal(await loadEntry(p.entry, p.cache), 'bundle');
    assert.equal(probe()?.pino, 'function', 'pino is loaded from the installation');
    // The link to the installation's packages is gone (a cleaned cache folder): a start from the
    // fresh bundle makes it again.
    await rm(path.join(p.cache, 'node_modules'));
    assert.ok(freshBundle(p.cache, p.entry));
    assert.equal(await loadEntry(p.entry, p.cache), 'bundle');
    assert.ok((await stat(path.join(p.cache, 'node_modules', 'pino', 'package.json'))).isFile());
  } finally {
    await rm(p.dir, { recursive: true, force: true });
  }
});

test('where no cache can be written, the command runs from the sources through tsx', async () => {
  const p = await project();
  try {
    await p.setValue('from the sources');
    const blocked = path.join(p.dir, 'a-file');
    await writeFile(blocked, '');
    // A cache "directory" under a regular file cannot be created, whoever runs the test.
    assert.equal(await loadEntry(p.entry, path.join(blocked, 'cache')), 'tsx');
    assert.equal(probe()?.value, 'from the sources');
    assert.equal(probe()?.name, 'entry.ts');
  } finally {
    await rm(p.dir, { recursive: true, force: true });
  }
});
