// Types of audit.columns.mjs (plain JavaScript so that the verifier's worker threads can load it).
export const AGREE: 0;
export const DISAGREE: 1;
export const UNDECIDED: 2;
export const COLUMNS: readonly ['at', 'actor_user_id', 'action', 'dataset_id', 'record_ids', 'decision'];
export function compareColumns(
  p: Buffer, ps: number, pe: number,
  c: Buffer, o: Int32Array | number[], len: Int32Array | number[], base: number,
  bad: number[],
): 0 | 1 | 2;
