/** Types of node-flags.mjs (plain JavaScript: the launchers use it before any TypeScript loader). */
export const NODE_FLAGS: readonly string[];
export function nodeFlags(given?: readonly string[]): string[];
