import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { readChunks } from './read-buffers.js';
/** How long to wait before looking again when the reader has caught up with the writer. */
const POLL_MS = 10;

export interface GrowingFileOptions {
  signal?: AbortSignal | undefined;
  /** Bytes hashed so far and the size the file has been seen to reach. */
  progress?: ((hashed: number, seen: number) => void) | undefined;
  /**
   * Flush the file's dirty pages to disk every this many bytes while the writer runs, so most of
   * the final fsync has already happened by the time the writer ends (0: never).
   */
  flushEvery?: number | undefined;
}

/**
 * sha256 of a file that another process is writing, read while it grows, so the checksum costs no
 * second pass over the data. Sound only for a writer that writes strictly in file order and never
 * rewrites a byte: `rbd export` (one ordered write per object, all-zero objects skipped by seeking,
 * holes left in place and a final ftruncate) and `rbd export-diff` (one ordered stream). Every byte
 * below the size the kernel reports has then been written for good, or is a hole that stays a hole.
 * `finished` settles when the writer has exited; after that the file is read to its final size.
 */
export async function sha256GrowingFile(file: string, finished: Promise<unknown>, opts: GrowingFileOptions = {}): Promise<{ sha256: string; bytes: number }> {
  let done = false;
  const settled = finished.then(
    () => (done = true),
    () => (done = true),
  );
  const fh = await openWhenCreated(file, () => done, opts.signal);
  try {
    return await tail(fh, () => done, settled, opts);
  } finally {
    await fh.close();
  }
}

/** The writer creates the file; until it has, there is nothing to read. */
async function openWhenCreated(file: string, writerDone: () => boolean, signal?: AbortSignal): Promise<FileHandle> {
  for (;;) {
    signal?.throwIfAborted();
    const wasDone = writerDone();
    try {
      return await open(file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || wasDone) throw e;
    }
    await sleep(POLL_MS);
  }
}

async function tail(fh: FileHandle, writerDone: () => boolean, settled: Promise<unknown>, opts: GrowingFileOptions): Promise<{ sha256: string; bytes: number }> {
  const h = createHash('sha256');
  let pos = 0;
  let flushedAt = 0;
  let flushing: Promise<void> | undefined;
  const flushEvery = opts.flushEvery ?? 0;
  for (;;) {
    opts.signal?.throwIfAborted();
    // Read the flag before the size: a size taken after the writer ended is its final size.
    const last = writerDone();
    const size = (await fh.stat()).size;
    opts.progress?.(pos, size);
    pos = await readChunks(
      fh,
      pos,
      size,
      (chunk, at) => {
        h.update(chunk);
        opts.progress?.(at, size);
        if (flushEvery > 0 && !last && !flushing && at - flushedAt >= flushEvery) {
          flushedAt = at;
          // One flush at a time, never awaited here: it only starts writeback early.
          flushing = fh.datasync().finally(() => (flushing = undefined));
          flushing.catch(() => undefined);
        }
      },
      opts.signal,
    );
    if (last) break;
    await Promise.race([settled, sleep(POLL_MS)]);
  }
  await flushing?.catch(() => undefined);
  return { sha256: h.digest('hex'), bytes: pos };
}
