// @ts-check
/**
 * How the `mamori` command loads its TypeScript (ADR 0015): as one ES module that esbuild — the
 * compiler tsx itself runs — bundles from the sources and caches under `node_modules/.cache`, instead
 * of some 200 modules each passed through tsx's loader hooks. Every start pays for those hooks
 * (resolution and loading round trips to the hooks' thread), about 1.5 s of a 3 s start here; one
 * cached file loads in a fraction of that. Packages stay outside the bundle (loaded from
 * node_modules as before); the workspace's own packages (`@mamori/…`) are bundled, being TypeScript.
 *
 * The cache is only ever used when it was built from exactly the files on disk: the record beside it
 * lists every input with its size and modification time, each start compares them (a stat per file,
 * a few milliseconds), and any difference rebuilds it (about 1.5 s, once). A bundle is written to a
 * directory of its own and the record, naming it, is replaced atomically, so concurrent starts never
 * pair a record with another build's bundle. Where the cache cannot be written (a read-only
 * install) or esbuild is missing, the sources run through tsx as before.
 *
 * `import.meta.url` in a bundled source is replaced by that source's own file URL, so that files found
 * next to a module (worker scripts, SQL migrations, the web console) are found where they are.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** Bumped when the way bundles are built changes: older records are then stale. */
const FORMAT = 1;
const RECORD = 'current.json';

/**
 * @typedef {{ format: number; node: string; entry: string; dir: string; inputs: [string, number, number][] }} BundleRecord
 */

/** The record of `cacheDir` if it names a bundle built from `entry` exactly as the files are now, else null. */
export function freshBundle(cacheDir, entry) {
  /** @type {BundleRecord} */
  let rec;
  try {
    rec = JSON.parse(readFileSync(path.join(cacheDir, RECORD), 'utf8'));
  } catch {
    return null;
  }
  if (rec.format !== FORMAT || rec.node !== process.version || rec.entry !== entry || !Array.isArray(rec.inputs)) return null;
  for (const [file, size, mtime] of rec.inputs) {
    try {
      const s = statSync(file);
      if (s.size !== size || s.mtimeMs !== mtime) return null;
    } catch {
      return null;
    }
  }
  return rec;
}

/**
 * Bundles `entry` into a new directory under `cacheDir` and records it; returns the bundle's path.
 * Throws when esbuild is missing or the cache cannot be written.
 * @param {string} cacheDir @param {string} entry
 */
export async function buildBundle(cacheDir, entry) {
  const { build } = await import('esbuild');
  const started = Date.now();
  mkdirSync(cacheDir, { recursive: true });
  const id = `b${started.toString(36)}-${process.pid}`;
  const dir = path.join(cacheDir, id);
  const out = path.join(dir, 'main.mjs');
  const result = await build({
    entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: out,
    metafile: true, sourcemap: 'linked', sourcesContent: false, logLevel: 'silent', legalComments: 'none',
    plugins: [{
      name: 'mamori',
      setup(b) {
        // Packages load from node_modules at run time, as they do under tsx; only `@mamori/…` (TypeScript) is bundled.
        b.onResolve({ filter: /^[^./]/ }, (a) => (a.path.startsWith('@mamori/') ? undefined : { path: a.path, external: true }));
        b.onLoad({ filter: /\.[cm]?[jt]s$/ }, async (a) => {
          const text = await readFile(a.path, 'utf8');
          const loader = /\.[cm]?ts$/.test(a.path) ? 'ts' : 'js';
          return { contents: text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(a.path).href)), loader };
        });
      },
    }],
  });
  /** @type {[string, number, number][]} */
  const inputs = [];
  for (const rel of Object.keys(result.metafile.inputs)) {
    const file = path.resolve(rel);
    const s = statSync(file);
    // A source changed while it was being bundled: this bundle may hold the older text. Use it, but
    // do not record it, so that the next start builds again.
    if (s.mtimeMs >= started) return out;
    inputs.push([file, s.size, s.mtimeMs]);
  }
  /** @type {BundleRecord} */
  const rec = { format: FORMAT, node: process.version, entry, dir: id, inputs };
  const tmp = path.join(cacheDir, `${RECORD}.${id}`);
  writeFileSync(tmp, JSON.stringify(rec));
  renameSync(tmp, path.join(cacheDir, RECORD));
  prune(cacheDir, id);
  return out;
}

/** Removes the bundles of earlier builds (an hour old at least: a start may still be loading one). */
function prune(cacheDir, keep) {
  const hourAgo = Date.now() - 3_600_000;
  for (const name of readdirSync(cacheDir)) {
    if (name === keep || !/^b[0-9a-z]+-\d+$/.test(name)) continue;
    try {
      if (statSync(path.join(cacheDir, name)).mtimeMs < hourAgo) rmSync(path.join(cacheDir, name), { recursive: true, force: true });
    } catch {
      // Another start pruned it first.
    }
  }
}

/** The cache directory: beside the packages, in node_modules/.cache (where tools keep their caches). */
export function defaultCacheDir(serverDir) {
  return path.join(serverDir, '..', '..', 'node_modules', '.cache', 'mamori-cli');
}

/**
 * Loads `entry` (a TypeScript module) from its cached bundle, building the bundle first when it is
 * missing or stale; through tsx when no bundle can be had.
 * @param {string} entry @param {string} cacheDir
 * @returns {Promise<'bundle' | 'tsx'>} how it was loaded
 */
export async function loadEntry(entry, cacheDir) {
  const rec = freshBundle(cacheDir, entry);
  let file = rec ? path.join(cacheDir, rec.dir, 'main.mjs') : null;
  if (!file) {
    try {
      file = await buildBundle(cacheDir, entry);
    } catch (e) {
      if (process.env.MAMORI_CLI_DEBUG) console.error(`mamori: running from the sources (${e instanceof Error ? e.message : e})`);
      file = null;
    }
  }
  if (file) {
    // Stack traces name the TypeScript sources, as under tsx.
    process.setSourceMapsEnabled(true);
    await import(pathToFileURL(file).href);
    return 'bundle';
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(entry).href);
  return 'tsx';
}

