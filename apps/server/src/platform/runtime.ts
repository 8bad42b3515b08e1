/**
 * Process-wide V8 settings for a process that runs Mamori (ADR 0016), applied by `openContext` (the
 * server, every CLI command, the benches) and by the tests' app: they are the same wherever Mamori
 * runs. V8 flags are per process, so they reach the worker threads too. Flags V8 reads only when the
 * process starts (the young generation's size) cannot be set here: they are NODE_FLAGS in
 * bin/node-flags.mjs, given by whatever starts the process (ADR 0019).
 *
 * `--no-concurrent-array-buffer-sweeping`: every `node:crypto` cipher call returns its output in a
 * new ArrayBuffer with its own malloc'd backing store; by default a V8 helper thread frees the dead
 * ones while the JavaScript thread goes on allocating new ones from the same malloc arena, and the two
 * contend for the arena's lock (futex waits in the kernel). One AES-256-GCM open of a record (create,
 * AAD, tag, update, final) costs ~10 µs of CPU that way here and ~3.3 µs with the backing stores
 * freed by the thread that allocates them, at the next collection. Every record the vault seals or
 * opens (gate reads, import, export) goes through such calls; the export gains most (its worker
 * threads open one record per row), the import a little, the gate and audit verification nothing
 * measurable (bench/README.md).
 */
import v8 from 'node:v8';

export const V8_FLAGS = ['--no-concurrent-array-buffer-sweeping'] as const;

/** Applies V8_FLAGS to this process (again is harmless). */
export function tuneRuntime(): void {
  for (const flag of V8_FLAGS) v8.setFlagsFromString(flag);
}
