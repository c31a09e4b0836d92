/**
 * Symlink-free paths below a trusted root. The root (the destination) is the operator's choice and
 * may itself be a link; nothing below it may be one: a link planted inside the backup directory
 * would otherwise redirect a write, a read that decides a delete, or a recursive delete to
 * somewhere else. Each check lstats every existing component from the root down, so a link is
 * seen before anything is opened through it.
 */
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, rm } from 'node:fs/promises';
import { dirname, relative, sep } from 'node:path';
import { fsyncDir, within } from './atomic.js';

export class UnsafePathError extends Error {
  override name = 'UnsafePathError';
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path} ${reason}: refused`);
  }
}

/** The reason an UnsafePathError gives for a link. */
export const LINK = 'is a symbolic link, and nothing below the destination may be one';

/** The components of `path` below `root`, each as a full path, root excluded. */
function componentsBelow(root: string, path: string): string[] {
  const full = within(root, path);
  const base = within(root);
  const rel = relative(base, full);
  if (rel === '') return [];
  const out: string[] = [];
  let cur = base;
  for (const part of rel.split(sep)) {
    cur = within(cur, part);
    out.push(cur);
  }
  return out;
}

async function lstatOrUndefined(p: string) {
  try {
    return await lstat(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Refuses `path` if it or any existing component between `root` and it is a symbolic link, or if a
 * component other than the last is not a directory. Components that do not exist are fine: what
 * does not exist yet cannot redirect anything.
 */
export async function assertNoSymlinks(root: string, path: string): Promise<void> {
  const parts = componentsBelow(root, path);
  for (const [i, p] of parts.entries()) {
    const st = await lstatOrUndefined(p);
    if (!st) return;
    if (st.isSymbolicLink()) throw new UnsafePathError(p, LINK);
    if (i < parts.length - 1 && !st.isDirectory()) throw new UnsafePathError(p, 'is not a directory');
  }
}

/**
 * Creates the missing directories from `root` (created as needed, never checked: it is the
 * operator's) down to `path`, each with `mode`, and refuses any existing component that is a link
 * or not a directory. Each new directory's parent is fsynced, so the directory survives a power
 * cut along with what is later written into it.
 */
export async function ensureDir(root: string, path: string, mode = 0o755): Promise<void> {
  await mkdir(within(root), { recursive: true });
  let parent = within(root);
  for (const p of componentsBelow(root, path)) {
    let st = await lstatOrUndefined(p);
    if (!st) {
      try {
        await mkdir(p, { mode });
        await fsyncDir(parent);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      st = await lstat(p);
    }
    if (st.isSymbolicLink()) throw new UnsafePathError(p, LINK);
    if (!st.isDirectory()) throw new UnsafePathError(p, 'is not a directory');
    parent = p;
  }
}

/** Every symbolic link inside the directory `dir` (which is not one itself), without following any. */
export async function symlinksInside(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = within(dir, e.name);
    if (e.isSymbolicLink()) found.push(p);
    else if (e.isDirectory()) found.push(...(await symlinksInside(p)));
  }
  return found;
}

/**
 * Throws unless the directory `path` below `root` could be removed without going through a link:
 * the way to it, and the whole tree, hold none. True when it exists. Lets a caller refuse before
 * it records the removal.
 */
export async function assertRemovableTree(root: string, path: string): Promise<boolean> {
  await assertNoSymlinks(root, path);
  const st = await lstatOrUndefined(within(root, path));
  if (!st) return false;
  if (!st.isDirectory()) throw new UnsafePathError(within(root, path), 'is not a directory');
  const links = await symlinksInside(within(root, path));
  if (links.length) throw new UnsafePathError(links[0]!, `is a symbolic link inside ${within(root, path)}, which is therefore not removed`);
  return true;
}

/**
 * Removes the directory `path` below `root` and everything in it, refusing before anything is
 * removed if the path runs through a link or the tree holds one: a planted link must be looked at
 * by a person, not deleted through or around. A missing directory is already removed.
 */
export async function removeTree(root: string, path: string): Promise<boolean> {
  if (!(await assertRemovableTree(root, path))) return false;
  await rm(within(root, path), { recursive: true, force: true });
  await fsyncDir(dirname(within(root, path)));
  return true;
}

/** Removes one file below `root` after checking the way to it; a missing file is already removed. */
export async function removeFile(root: string, path: string): Promise<boolean> {
  await assertNoSymlinks(root, path);
  const st = await lstatOrUndefined(within(root, path));
  if (!st) return false;
  if (st.isDirectory()) throw new UnsafePathError(within(root, path), 'is a directory, not a file');
  await rm(within(root, path), { force: true });
  return true;
}

/**
 * The text of a file that must not be a link (O_NOFOLLOW: a link swapped in after a check is still
 * refused), or undefined when it does not exist.
 */
export async function readTextNoFollow(path: string): Promise<string | undefined> {
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new UnsafePathError(path, LINK);
    throw e;
  }
  try {
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}
