/**
 * Reading a file in order through two buffers (the next read runs on the thread pool while the
 * last chunk is used), with the buffers kept for the next file. A worker hashes one file per
 * running export or import; allocating the buffers afresh per file left megabytes of garbage per
 * file for the collector to find, and the worker's resident peak grew with it.
 */
import type { FileHandle } from 'node:fs/promises';

/** Large enough that the per-read cost vanishes (1–8 MiB hash a cached file equally fast here). */
export const READ_CHUNK = 4 * 1024 * 1024;
/** Kept for reuse at most: two exports and an import at once, two buffers each. */
const KEEP = 6;

const spare: Buffer[] = [];

/**
 * Reads `fh` from `from` up to `to`, handing each chunk to `use` in order (valid only during the
 * call); returns the position reached. Throws if the file ends before `to`.
 */
export async function readChunks(fh: FileHandle, from: number, to: number, use: (chunk: Buffer, pos: number) => void, signal?: AbortSignal): Promise<number> {
  if (from >= to) return from;
  const bufs = [spare.pop() ?? Buffer.allocUnsafe(READ_CHUNK), spare.pop() ?? Buffer.allocUnsafe(READ_CHUNK)];
  let which = 0;
  let pos = from;
  const next = () => (pos < to ? fh.read(bufs[which]!, 0, Math.min(READ_CHUNK, to - pos), pos) : undefined);
  let pending = next();
  try {
    while (pending) {
      const { bytesRead } = await pending;
      pending = undefined;
      if (bytesRead === 0) throw new Error(`file shrank below ${pos} bytes while being read`);
      const buf = bufs[which]!;
      pos += bytesRead;
      which ^= 1;
      pending = next();
      use(buf.subarray(0, bytesRead), pos);
      signal?.throwIfAborted();
    }
    return pos;
  } finally {
    // Never hand out a buffer that a read still in flight writes into.
    await pending?.catch(() => undefined);
    for (const b of bufs) if (spare.length < KEEP) spare.push(b);
  }
}
