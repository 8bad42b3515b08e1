// Types of audit.tree.mjs (plain JavaScript so that the verifier's worker threads can load it).
export function sha256Into(data: Uint8Array, out: Buffer, off: number): void;
export function nodeHashInto(lb: Uint8Array, lo: number, rb: Uint8Array, ro: number, out: Buffer, off: number): void;
export function extendTree(compact: readonly Uint8Array[], size: number, leaves: Uint8Array, count: number): { compact: Buffer[]; levels: Buffer[]; first: number[] };
export function prefixRange(levels: readonly Uint8Array[], r: number): Buffer[];
