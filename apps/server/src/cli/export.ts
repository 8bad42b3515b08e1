/** Writing a one-off audit export (JSON Lines) to stdout or a file, locally or from a running server. */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { request } from './target.ts';

export async function openOutput(file: string | undefined): Promise<{ stream: Writable; close(): Promise<void> }> {
  if (!file) return { stream: process.stdout, close: async () => undefined };
  // The export is the log's contents: readable by the owner only.
  const stream = createWriteStream(file, { flags: 'w', mode: 0o600 });
  await once(stream, 'open');
  return {
    stream,
    async close() {
      if (stream.writableFinished || stream.destroyed) return;
      stream.end();
      await once(stream, 'finish');
    },
  };
}

async function write(out: Writable, chunk: string | Uint8Array): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain');
}

/** Writes the lines with back-pressure; returns how many were written. */
export async function exportLines(lines: AsyncIterable<string>, out: Writable, onProgress: (done: number) => void): Promise<number> {
  let n = 0;
  for await (const line of lines) {
    await write(out, line);
    n += 1;
    if (n % 1000 === 0) onProgress(n);
  }
  onProgress(n);
  return n;
}

/** Streams `GET /api/audit/export.jsonl` to `out`; fails if the server sent fewer lines than it announced. */
export async function streamOnlineExport(
  target: { url: string; token: string | null },
  route: string,
  out: Writable,
  onProgress: (done: number, total: number) => void,
): Promise<number> {
  const res = await request(target, 'GET', route);
  const total = Number(res.headers.get('x-mamori-count') ?? '0');
  let lines = 0;
  let lastByte = 0x0a;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, i + 1)) lines += 1;
    if (chunk.length > 0) lastByte = chunk[chunk.length - 1]!;
    await write(out, chunk);
    onProgress(lines, total);
  }
  if (lines !== total || lastByte !== 0x0a) throw new Error(`the export was cut short: ${lines} of ${total} events received`);
  return lines;
}
