// node:test custom reporter that counts leaf tests and yields one JSON line at the end:
//   {"passed":N,"failed":N,"skipped":N}
// run-tests.mjs sends it to a file with --test-reporter-destination and reads it after the run.
//
// Counting rules (events arrive children first, then their parent, per file):
// - a leaf test (no reported subtests, not a suite) counts as passed, failed, or skipped
//   (skip and todo both count as skipped: node does not fail a run on a todo test);
// - a suite or a test with subtests is not counted itself, unless it failed while none of its
//   subtests did (a failing after() hook, a describe() body that threw): then it is one failure;
// - a test file that failed as a whole (import error, uncaught error after its tests) is
//   reported by node as a test named after the file, and counts as one failure.

export default async function* summaryReporter(source) {
  const counts = { passed: 0, failed: 0, skipped: 0 };
  /** per file: level[n] = { seen, failed } for events at nesting n since the last one at n-1 */
  const files = new Map();

  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const data = event.data;
    const key = data.file ?? '';
    let levels = files.get(key);
    if (!levels) files.set(key, (levels = []));
    const n = data.nesting ?? 0;

    const below = levels[n + 1] ?? { seen: false, failed: 0 };
    levels[n + 1] = { seen: false, failed: 0 };
    const isParent = below.seen || data.details?.type === 'suite';

    let failures = 0;
    if (event.type === 'test:fail' && !data.todo) {
      if (!isParent || below.failed === 0) {
        counts.failed++;
        failures = 1;
      } else {
        failures = below.failed;
      }
    } else if (!isParent) {
      if (data.skip || data.todo) counts.skipped++;
      else counts.passed++;
    } else {
      failures = below.failed;
    }

    const here = levels[n] ?? { seen: false, failed: 0 };
    here.seen = true;
    here.failed += failures;
    levels[n] = here;
  }

  yield `${JSON.stringify(counts)}\n`;
}
