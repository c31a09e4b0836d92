/**
 * sha256 of a file read while its writer still writes it, with writers that behave as rbd does
 * (ordered writes, all-zero chunks skipped by seeking, a final truncate) and one that fails.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sha256GrowingFile } from '../../src/fs/growing-file.js';

const tmp = mkdtempSync(join(tmpdir(), 'rbd-backup-growing-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const MiB = 1024 * 1024;

/** Writes `chunks` in order like `rbd export`: null chunks are holes, seeked over; then truncates. */
async function rbdLikeWriter(file: string, chunks: (Buffer | null)[], opts: { delayFirstOpen?: number; failAfter?: number } = {}): Promise<void> {
  if (opts.delayFirstOpen) await sleep(opts.delayFirstOpen);
  const fh = await open(file, 'wx');
  try {
    let pos = 0;
    for (const [i, c] of chunks.entries()) {
      if (opts.failAfter !== undefined && i === opts.failAfter) throw new Error('writer died');
      const len = c?.length ?? 4 * MiB;
      // Split each chunk in two writes with a pause between, so the reader sees it half-written.
      if (c) {
        await fh.write(c, 0, len >> 1, pos);
        await sleep(2);
        await fh.write(c, len >> 1, len - (len >> 1), pos + (len >> 1));
      }
      pos += len;
      await sleep(3);
    }
    await fh.truncate(pos);
  } finally {
    await fh.close();
  }
}

const cases: { name: string; chunks: (Buffer | null)[]; delayFirstOpen?: number }[] = [
  { name: 'data only', chunks: [randomBytes(4 * MiB), randomBytes(4 * MiB), randomBytes(3 * MiB + 17)] },
  { name: 'holes inside and at the end (size set by the final truncate)', chunks: [randomBytes(4 * MiB), null, randomBytes(4 * MiB), null, null] },
  { name: 'only holes', chunks: [null, null] },
  { name: 'the writer creates the file late', chunks: [randomBytes(MiB), null, randomBytes(MiB)], delayFirstOpen: 50 },
  { name: 'empty', chunks: [] },
];

for (const c of cases) {
  test(`hash while writing equals the hash of the finished file: ${c.name}`, async () => {
    const file = join(tmp, `f-${++n}`);
    const writing = rbdLikeWriter(file, c.chunks, c);
    const sum = await sha256GrowingFile(file, writing, { flushEvery: 2 * MiB });
    await writing;
    const whole = readFileSync(file);
    assert.equal(sum.bytes, whole.length);
    assert.equal(sum.sha256, createHash('sha256').update(whole).digest('hex'));
  });
}

test('a writer that dies ends the hashing instead of leaving it waiting', async () => {
  const file = join(tmp, `f-${++n}`);
  const writing = rbdLikeWriter(file, [randomBytes(MiB), randomBytes(MiB), randomBytes(MiB)], { failAfter: 2 });
  const [w, h] = await Promise.allSettled([writing, sha256GrowingFile(file, writing)]);
  assert.equal(w.status, 'rejected');
  // What was written is hashed and the reader returns; the caller discards it with the failure.
  assert.equal(h.status, 'fulfilled');
});

test('a writer that never creates the file: the reader fails once the writer has ended', async () => {
  const writing = Promise.reject(new Error('rbd failed before opening'));
  await assert.rejects(sha256GrowingFile(join(tmp, 'never'), writing), /ENOENT/);
});

test('an abort stops the reader while the writer still runs', async () => {
  const file = join(tmp, `f-${++n}`);
  const stop = new AbortController();
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const writing = (async () => {
    const fh = await open(file, 'wx');
    await fh.write(randomBytes(MiB));
    await released;
    await fh.close();
  })();
  const hashing = sha256GrowingFile(file, writing, { signal: stop.signal, progress: (h) => h === MiB && stop.abort() });
  await assert.rejects(hashing, { name: 'AbortError' });
  release();
  await writing;
});
