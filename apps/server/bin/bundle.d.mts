/** Types of bundle.mjs (plain JavaScript: it runs before any TypeScript loader). */
export type BundleRecord = { format: number; node: string; entry: string; dir: string; inputs: [string, number, number][] };
export function freshBundle(cacheDir: string, entry: string): BundleRecord | null;
export function buildBundle(cacheDir: string, entry: string): Promise<string>;
export function defaultCacheDir(serverDir: string): string;
export function loadEntry(entry: string, cacheDir: string): Promise<'bundle' | 'tsx'>;
