/**
 * Reading a file in order through reused buffers: every range comes out byte for byte, a file
 * shorter than asked is an error, and an aborted read leaves the reused buffers sound.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { READ_CHUNK, readChunks } from '../../src/fs/read-buffers.js';

const tmp = mkdtempSync(join(tmpdir(), 'rbd-backup-chunks-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const data = randomBytes(2 * READ_CHUNK + 12345);
const file = join(tmp, 'data');
writeFileSync(file, data);

async function collect(from: number, to: number, signal?: AbortSignal): Promise<{ bytes: Buffer; pos: number; positions: number[] }> {
  const fh = await open(file, 'r');
  try {
    const parts: Buffer[] = [];
    const positions: number[] = [];
    // A copy: the chunk is only valid during the call, its buffer is read into again.
    const pos = await readChunks(fh, from, to, (c, at) => (parts.push(Buffer.from(c)), positions.push(at)), signal);
    return { bytes: Buffer.concat(parts), pos, positions };
  } finally {
    await fh.close();
  }
}

const ranges: [string, number, number][] = [
  ['nothing', 5, 5],
  ['one byte', 0, 1],
  ['less than a chunk', 100, READ_CHUNK - 1],
  ['exactly a chunk', 0, READ_CHUNK],
  ['across two chunk boundaries', 7, 2 * READ_CHUNK + 9],
  ['the whole file', 0, data.length],
];
for (const [name, from, to] of ranges) {
  test(`readChunks: ${name}`, async () => {
    const r = await collect(from, to);
    assert.equal(r.pos, to);
    assert.ok(r.bytes.equals(data.subarray(from, to)), 'the same bytes in the same order');
    assert.equal(r.positions.at(-1) ?? from, to);
  });
}

test('readChunks: a file shorter than asked is an error', async () => {
  await assert.rejects(collect(0, data.length + 1), /file shrank below/);
});

test('readChunks: aborted after the first chunk, then read again: the reused buffers still give the file', async () => {
  const stop = new AbortController();
  const fh = await open(file, 'r');
  try {
    await assert.rejects(
      readChunks(fh, 0, data.length, () => stop.abort(), stop.signal),
      (e: Error) => e.name === 'AbortError',
    );
  } finally {
    await fh.close();
  }
  for (let i = 0; i < 3; i++) assert.ok((await collect(0, data.length)).bytes.equals(data));
});
