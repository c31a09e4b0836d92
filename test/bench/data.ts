/**
 * Bench data: images of random bytes (never `rbd bench` data, which is one repeated byte) and
 * scattered random 4 KiB writes, applied as a hand-built `rbd diff v1` stream.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { open, rm } from 'node:fs/promises';

const KiB = 1024;
const MiB = 1024 * KiB;

/** A file of `sizeMiB` whose first `dataMiB` hold random bytes; the rest stays a hole. */
export async function randomFile(path: string, sizeMiB: number, dataMiB = sizeMiB): Promise<void> {
  const fh = await open(path, 'w');
  try {
    for (let off = 0; off < dataMiB * MiB; off += 4 * MiB) await fh.write(randomBytes(Math.min(4 * MiB, dataMiB * MiB - off)), 0, undefined, off);
    await fh.truncate(sizeMiB * MiB);
  } finally {
    await fh.close();
  }
}

/** A diff stream of `fraction` of the image's 4 KiB blocks, each rewritten with random bytes. */
export async function randomWritesFile(path: string, sizeBytes: number, fraction: number): Promise<number> {
  const blocks = Math.floor(sizeBytes / (4 * KiB));
  const picked = new Set<number>();
  const want = Math.max(1, Math.round(blocks * fraction));
  while (picked.size < want) picked.add(randomInt(0, blocks));
  const fh = await open(path, 'w');
  try {
    await fh.write(Buffer.from('rbd diff v1\n', 'latin1'));
    const list = [...picked];
    for (let i = 0; i < list.length; i += 256) {
      const batch = list.slice(i, i + 256);
      const buf = Buffer.alloc(batch.length * (17 + 4 * KiB));
      const data = randomBytes(batch.length * 4 * KiB);
      batch.forEach((b, j) => {
        const at = j * (17 + 4 * KiB);
        buf.write('w', at, 'latin1');
        buf.writeBigUInt64LE(BigInt(b * 4 * KiB), at + 1);
        buf.writeBigUInt64LE(BigInt(4 * KiB), at + 9);
        data.copy(buf, at + 17, j * 4 * KiB, (j + 1) * 4 * KiB);
      });
      await fh.write(buf);
    }
    await fh.write(Buffer.from('e', 'latin1'));
  } finally {
    await fh.close();
  }
  return picked.size;
}

export async function removeQuietly(path: string): Promise<void> {
  await rm(path, { force: true, recursive: true });
}
