import { constants } from 'node:fs';
import { open, rename, rm, mkdir, type FileHandle } from 'node:fs/promises';
import { dirname, basename, join, resolve, relative, isAbsolute, sep } from 'node:path';

async function fsyncPath(path: string, flags: 'r' | 'r+'): Promise<void> {
  const fh = await open(path, flags);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsync a directory so a rename or unlink in it survives a power cut. */
export const fsyncDir = (dir: string): Promise<void> => fsyncPath(dir, 'r');

export const fsyncFile = (file: string): Promise<void> => fsyncPath(file, 'r+');

let tmpCounter = 0;

/** The temp names writeFileAtomic uses, so a sweep can recognise (only) its own leftovers. */
export const atomicTempName = (name: string, pid: number, n: number): string => `.${name}.tmp-${pid}-${n}`;
export const ATOMIC_TEMP = /^\..+\.tmp-\d+-\d+$/;

/**
 * Readers see the old content or the new, never a torn file: temp + fsync + rename + fsync dir.
 * The temp is created exclusively and never through a link (O_EXCL | O_NOFOLLOW): a name left by a
 * crashed process with the same pid, or planted, is skipped rather than written through.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true });
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  let tmp = '';
  let fh: FileHandle | undefined;
  for (let tries = 0; !fh; tries++) {
    tmp = join(dir, atomicTempName(basename(file), process.pid, ++tmpCounter));
    try {
      fh = await open(tmp, flags, mode);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || tries >= 100) throw e;
    }
  }
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
