// @ts-check
/**
 * How the `mamori` command loads its TypeScript (ADR 0015): as one ES module that esbuild — the
 * compiler tsx itself runs — bundles from the sources and caches under `node_modules/.cache`, instead
 * of some 200 modules each passed through tsx's loader hooks. Every start pays for those hooks
 * (resolution and loading round trips to the hooks' thread), about 1.5 s of a 3 s start here; one
 * cached file loads in a fraction of that. The workspace's own packages (`@mamori/…`, TypeScript) and
 * the small pure-JavaScript packages of BUNDLED_PACKAGES are bundled; other packages load from
 * node_modules as before (a cache directory outside the installation gets a link to it).
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
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Bumped when the way bundles are built changes: older records are then stale. */
const FORMAT = 2;
const RECORD = 'current.json';

/**
 * Packages bundled with the sources rather than loaded from node_modules (with whatever they import):
 * plain JavaScript of many small modules, which Node otherwise resolves and compiles one by one at
 * every start (kysely alone is ~0.2 s of a start, TypeBox another ~0.2 s). Packages that find files
 * of their own at run time (PGlite's WASM, pino's worker transports), native ones (argon2) and those
 * a start rarely needs stay outside.
 */
export const BUNDLED_PACKAGES = ['kysely', '@sinclair/typebox', 'fflate', '@holiday-jp/holiday_jp', 'commander', 'csv-parse', '@noble/hashes', 'otpauth', 'scim2-parse-filter', 'iconv-lite'];

/** The package a bare import names (`@scope/name/sub` → `@scope/name`). */
function packageOf(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

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

/** The node_modules folder the command's packages load from: the nearest one above this file. */
function packagesDir() {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'node_modules'))) return path.join(dir, 'node_modules');
    if (path.dirname(dir) === dir) return null;
  }
}

/**
 * The bundle imports the packages left outside it by name, and Node looks for them in the
 * node_modules folders above the bundle's own file. A cache directory outside the installation
 * (MAMORI_CLI_CACHE_DIR=/var/cache/mamori) has none: it gets a link named node_modules to the
 * installation's.
 */
function linkPackages(cacheDir) {
  const packages = packagesDir();
  if (!packages || path.resolve(cacheDir).startsWith(path.dirname(packages) + path.sep)) return;
  const link = path.join(cacheDir, 'node_modules');
  try {
    if (readlinkSync(link) === packages) return;
    rmSync(link, { force: true });
  } catch {
    // No link yet.
  }
  try {
    symlinkSync(packages, link, 'junction');
  } catch (e) {
    // Another start made it meanwhile.
    if (!(e instanceof Error && 'code' in e && e.code === 'EEXIST')) throw e;
  }
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
  linkPackages(cacheDir);
  const id = `b${started.toString(36)}-${process.pid}`;
  const dir = path.join(cacheDir, id);
  const out = path.join(dir, 'main.mjs');
  const result = await build({
    entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: out,
    // A bundled CommonJS package's `require` of a Node module (or of a package left outside) needs one.
    banner: { js: "import { createRequire as __mamoriCreateRequire } from 'node:module'; const require = __mamoriCreateRequire(import.meta.url);" },
    metafile: true, sourcemap: 'linked', sourcesContent: false, logLevel: 'silent', legalComments: 'none',
    plugins: [{
      name: 'mamori',
      setup(b) {
        // Packages load from node_modules at run time, as they do under tsx, except `@mamori/…`
        // (TypeScript), the BUNDLED_PACKAGES and what those import (found from where they are).
        const bundled = new Set(BUNDLED_PACKAGES);
        const inBundledPackage = (file) => BUNDLED_PACKAGES.some((p) => file.includes(`${path.sep}node_modules${path.sep}${p.split('/').join(path.sep)}${path.sep}`));
        b.onResolve({ filter: /^[^./]/ }, (a) => {
          if (a.path.startsWith('node:')) return { path: a.path, external: true };
          if (a.path.startsWith('@mamori/') || bundled.has(packageOf(a.path)) || inBundledPackage(a.importer)) return undefined;
          return { path: a.path, external: true };
        });
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
  if (file) {
    try {
      linkPackages(cacheDir);
    } catch {
      file = null; // the packages could not be found from the bundle: build again, or run the sources
    }
  }
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

