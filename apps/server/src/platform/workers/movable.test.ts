import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { movable } from './movable.mjs';

test('movable: memory of its own moves as it is; a slice of the shared pool is copied, and moving the copy leaves the pool intact', () => {
  const { port1, port2 } = new MessageChannel();
  try {
    // A slice of Node's pool of small buffers (allocUnsafe takes small sizes from it).
    const neighbour = Buffer.allocUnsafe(16).fill(7);
    const small = Buffer.allocUnsafe(16).fill(1);
    assert.equal(small.buffer, neighbour.buffer, 'both slices share the pool');
    const m = movable(small);
    assert.notEqual(m.buffer, small.buffer);
    assert.equal(m.byteOffset, 0);
    assert.equal(m.byteLength, m.buffer.byteLength);
    assert.deepEqual([...m], [...small]);
    port1.postMessage(m, [m.buffer as ArrayBuffer]);
    assert.equal(neighbour.length, 16, 'the pool is not detached');
    assert.deepEqual([...neighbour], Array(16).fill(7));

    // A view into large memory nothing else uses, and a buffer that is all of its memory: themselves.
    const big = Buffer.allocUnsafeSlow(Buffer.poolSize * 2);
    const view = big.subarray(100, 200);
    assert.equal(movable(view), view);
    const own = Buffer.allocUnsafeSlow(32);
    assert.equal(movable(own), own);
  } finally {
    port1.close();
    port2.close();
  }
});
