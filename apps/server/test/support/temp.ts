/**
 * Temporary folders of one test file, all removed when its tests are done, whatever their outcome:
 * a test leaves nothing in the system's temp folder (some write key files, or files of many MB).
 */
import { after } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export function tempFolders(prefix: string): () => Promise<string> {
  const made: string[] = [];
  after(() => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))).then(() => undefined));
  return async () => {
    const dir = await mkdtemp(path.join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}
