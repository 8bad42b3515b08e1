// @ts-check
/**
 * Node's start-up flags for Mamori's processes (ADR 0019): V8 settings that only take effect when
 * given as the process starts, unlike `V8_FLAGS` in platform/runtime.ts, which are set at run time.
 *
 * `--max-semi-space-size=64`: a young generation of up to 2 × 64 MB instead of V8's 2 × 16 MB. Every
 * request, record and row leaves short-lived objects; with the larger young generation the server
 * scavenged a third as often and spent ~20 % less CPU per audited read in the gate bench.
 *
 * Everything that starts Mamori passes them: `npm start` (scripts/start.mjs), the `mamori` command's
 * own `#!` line (bin/mamori.mjs; a test keeps the two equal), the bench runner and the tests' servers.
 * An operator's own value of a flag (on the command line or in NODE_OPTIONS) is left as it is.
 */

/** The flags, each `--name=value`. */
export const NODE_FLAGS = ['--max-semi-space-size=64'];

/**
 * NODE_FLAGS less those this process's command line or NODE_OPTIONS already sets (by name, `_` and
 * `-` alike): the flags to start a child Node with.
 * @param {readonly string[]} [given] flags already given (default: process.execArgv and NODE_OPTIONS)
 * @returns {string[]}
 */
export function nodeFlags(given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)]) {
  const name = (/** @type {string} */ f) => f.split('=')[0].replaceAll('_', '-');
  const set = new Set(given.filter((f) => f.startsWith('--')).map(name));
  return NODE_FLAGS.filter((f) => !set.has(name(f)));
}
