// Types of movable.mjs.
export function movable(b: Buffer): Buffer;
