// @ts-check
// Plain JavaScript so that worker threads (no TypeScript loader there) can load it; types in movable.d.mts.
/**
 * A buffer whose memory can be moved to another thread with `postMessage(…, [b.buffer])`: the buffer
 * itself when its memory is its own — the whole ArrayBuffer, or a view into a large one nothing else
 * uses (the receiver keeps the view's offset and length) — and a copy when it is a slice of Node's
 * shared pool of small buffers, which must never be moved. The copy has memory of its own
 * (`Buffer.from(buffer)` of a small buffer would itself take a slice of that pool).
 * @param {Buffer} b
 * @returns {Buffer}
 */
export function movable(b) {
  return b.buffer.byteLength > Buffer.poolSize || (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) ? b : Buffer.from(new Uint8Array(b).buffer);
}
