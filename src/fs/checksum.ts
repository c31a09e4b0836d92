import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';

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
export function sha256File(file: string, progress?: (bytes: number) => void, signal?: AbortSignal): Promise<{ sha256: string; bytes: number }> {
  return sha256Stream(createReadStream(file, { highWaterMark: 4 * 1024 * 1024, ...(signal ? { signal } : {}) }), progress);
}
