import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { readChunks } from './read-buffers.js';

/** sha256 of a stream, calling `progress` with bytes read so long hashes can heartbeat. */
export async function sha256Stream(stream: Readable, progress?: (bytes: number) => void): Promise<{ sha256: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    h.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
    progress?.(bytes);
  }
  return { sha256: h.digest('hex'), bytes };
}

/** `signal` aborts the read: a cancelled or timed-out activity must not keep hashing. */
export async function sha256File(file: string, progress?: (bytes: number) => void, signal?: AbortSignal): Promise<{ sha256: string; bytes: number }> {
  signal?.throwIfAborted();
  const fh = await open(file, 'r');
  try {
    const h = createHash('sha256');
    const bytes = await readChunks(fh, 0, (await fh.stat()).size, (chunk, at) => (h.update(chunk), progress?.(at)), signal);
    return { sha256: h.digest('hex'), bytes };
  } finally {
    await fh.close();
  }
}
