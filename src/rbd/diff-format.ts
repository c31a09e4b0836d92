/**
 * Reads the header of an `rbd export-diff` file ("rbd diff v1"): the from- and to-snapshot it
 * names and the image size, so a restore can check a chain from the files themselves before it
 * touches the cluster. Format: a magic line, then tagged records — 'f'/'t' (u32 length + name),
 * 's' (u64 size), then 'w'/'z' data records and 'e' at the end.
 */
import { open } from 'node:fs/promises';

export const DIFF_V1 = 'rbd diff v1\n';

export interface DiffHeader {
  fromSnapshot: string | null;
  toSnapshot: string | null;
  size: number | null;
}

export class DiffFormatError extends Error {
  override name = 'DiffFormatError';
}

export function parseDiffHeader(buf: Buffer, file = 'diff'): DiffHeader {
  if (buf.subarray(0, DIFF_V1.length).toString('latin1') !== DIFF_V1) {
    throw new DiffFormatError(`${file}: not an "rbd diff v1" file`);
  }
  const h: DiffHeader = { fromSnapshot: null, toSnapshot: null, size: null };
  let o = DIFF_V1.length;
  const need = (n: number) => {
    if (o + n > buf.length) throw new DiffFormatError(`${file}: header truncated at byte ${o}`);
  };
  for (;;) {
    need(1);
    const tag = String.fromCharCode(buf[o]!);
    if (tag === 'f' || tag === 't') {
      need(5);
      const len = buf.readUInt32LE(o + 1);
      need(5 + len);
      const name = buf.subarray(o + 5, o + 5 + len).toString('utf8');
      if (tag === 'f') h.fromSnapshot = name;
      else h.toSnapshot = name;
      o += 5 + len;
    } else if (tag === 's') {
      need(9);
      h.size = Number(buf.readBigUInt64LE(o + 1));
      o += 9;
    } else if (tag === 'w' || tag === 'z' || tag === 'e') {
      return h;
    } else {
      throw new DiffFormatError(`${file}: unknown record '${tag}' at byte ${o}`);
    }
  }
}

export async function readDiffHeader(file: string): Promise<DiffHeader> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return parseDiffHeader(buf.subarray(0, bytesRead), file);
  } finally {
    await fh.close();
  }
}
