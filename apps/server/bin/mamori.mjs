#!/usr/bin/env -S node --max-semi-space-size=64
// The `mamori` command: the TypeScript sources, loaded as one cached bundle that is rebuilt whenever
// a source changed (bin/bundle.mjs, ADR 0015), or through tsx where no bundle can be written.
// The `#!` line starts Node with NODE_FLAGS (bin/node-flags.mjs, ADR 0019) when the file is run itself
// (`npx mamori`); launchers that run it as `node mamori.mjs` pass nodeFlags() themselves.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultCacheDir, loadEntry } from './bundle.mjs';

const serverDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
await loadEntry(path.join(serverDir, 'src', 'cli', 'main.ts'), process.env.MAMORI_CLI_CACHE_DIR || defaultCacheDir(serverDir));
