import { open, rename, rm, mkdir } from 'node:fs/promises';
import { dirname, basename, join, resolve, relative, isAbsolute, sep } from 'node:path';

/** fsync a directory so a rename or unlink in it survives a power cut. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function fsyncFile(file: string): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

let tmpCounter = 0;

/** Readers see the old content or the new, never a torn file: temp + fsync + rename + fsync dir. */
export async function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(file)}.tmp-${process.pid}-${++tmpCounter}`);
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await rename(tmp, file);
  await fsyncDir(dir);
}

/** Joins and refuses any result outside `root`: the last guard before a write or a delete. */
export function within(root: string, ...parts: string[]): string {
  const r = resolve(root);
  const p = resolve(r, ...parts);
  const rel = relative(r, p);
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && !rel.split(sep).includes('..'))) return p;
  throw new Error(`path ${p} escapes ${r}`);
}
