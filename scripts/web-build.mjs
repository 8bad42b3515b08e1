// Builds the web console (apps/web → apps/web/dist) when it is missing or older than its sources.
// Used by `npm start` (scripts/start.mjs) and `npm run e2e` (scripts/run-tests.mjs --e2e).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WEB = join(ROOT, 'apps', 'web');
const DIST_INDEX = join(WEB, 'dist', 'index.html');
// Everything the build reads besides node_modules: the app, its shared vocabulary, its config.
const INPUTS = [join(WEB, 'src'), join(WEB, 'public'), join(WEB, 'index.html'), join(WEB, 'vite.config.ts'), join(WEB, 'package.json'), join(ROOT, 'packages', 'contracts', 'src')];

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const e of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, e)));
  return newest;
}

/** Why the console needs building, or null when dist is up to date. */
export function webBuildReason() {
  if (!existsSync(DIST_INDEX)) return 'apps/web/dist is missing';
  const built = statSync(DIST_INDEX).mtimeMs;
  const newest = Math.max(...INPUTS.map(newestMtime));
  return newest > built ? 'apps/web sources are newer than apps/web/dist' : null;
}

/** Runs `npm run build -w @mamori/web` if needed; throws when the build fails. */
export function ensureWebBuilt({ log = (s) => console.log(s) } = {}) {
  const reason = webBuildReason();
  if (!reason) return false;
  log(`web console: ${reason}; building it (npm run build -w @mamori/web)…`);
  // Under `npm run`, npm_execpath is npm's own CLI: use it with this node rather than whatever `npm` is on PATH.
  const npmCli = process.env.npm_execpath;
  const [cmd, args] = npmCli && /npm-cli\.c?js$/.test(npmCli)
    ? [process.execPath, [npmCli, 'run', 'build', '-w', '@mamori/web']]
    : [process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build', '-w', '@mamori/web']];
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`building the web console failed (exit ${r.status ?? r.signal})`);
  return true;
}
