/**
 * Rebuilds an image's catalog.json from its circle directories, for when it is lost or damaged.
 * A circle whose manifest reads and whose files are all present with their recorded sizes is
 * taken from the manifest. Any other circle is rebuilt from its files: names, `rbd diff v1`
 * headers and recomputed sha256, chained from the full; what the manifest still knew (backup
 * names, workflow IDs, checksums) is kept, and a file that contradicts it ends the chain rather
 * than being trusted. Files that do not chain are reported and left in place: rebuilding never
 * deletes anything. Idempotent: a second rebuild reads the manifests the first wrote and writes
 * the same catalog.
 */
import { lstat, readdir } from 'node:fs/promises';
import { isOurSnapshot, SNAPSHOT_PREFIX, type ImageRef } from '../names/names.js';
import { within } from '../fs/atomic.js';
import { sha256File } from '../fs/checksum.js';
import { LINK, UnsafePathError } from '../fs/safe-path.js';
import { readDiffHeader } from '../rbd/diff-format.js';
import { chainProblems } from '../plan/chain.js';
import { Catalog, CatalogUnreadableError } from './catalog.js';
import { CATALOG_FORMAT, isValidName, type Circle, type CircleManifest, type ImageCatalog, type Parsed, type Point } from './schema.js';
import { CATALOG_FILE, MANIFEST_FILE, diffFileName, fullFileName, isExportFileName, isLeftoverName } from './manifest.js';

export interface RebuildOptions {
  /**
   * Replace a catalog.json that reads fine. Without it a readable catalog is left alone
   * (RebuildRefusedError): it may know things the directories do not. With it, its retired
   * snapshots and tombstones are kept, and the snapshots of points it had that the rebuild
   * cannot find become retired snapshots.
   */
  replace?: boolean;
  /** Called as files are hashed (bytes of `file` so far), so a long rebuild can heartbeat. */
  progress?: (p: { file: string; bytes: number }) => void;
  signal?: AbortSignal;
}

export interface CircleRebuild {
  name: string;
  /** `manifest`: taken as the manifest records it; `scan`: rebuilt from the files, manifest rewritten. */
  from: 'manifest' | 'scan';
  points: number;
  /** Files left out and why; they are still in the directory. */
  problems: string[];
}

export interface RebuildSummary extends ImageRef {
  catalogFile: string;
  /** catalog.json before the rebuild. */
  before: 'missing' | 'unreadable' | 'readable';
  circles: CircleRebuild[];
  points: number;
  /** Entries of the image directory that are not circles, and circles with nothing that chains. */
  problems: string[];
}

export class RebuildRefusedError extends Error {
  override name = 'RebuildRefusedError';
}

export async function rebuildCatalog(catalog: Catalog, ref: ImageRef, opts: RebuildOptions = {}): Promise<RebuildSummary> {
  const dir = await catalog.checkedImageDir(ref);
  const catalogFile = catalog.catalogPath(ref);
  let previous: ImageCatalog | undefined;
  let before: RebuildSummary['before'];
  try {
    previous = await catalog.load(ref);
    before = (await exists(catalogFile)) ? 'readable' : 'missing';
  } catch (e) {
    if (!(e instanceof CatalogUnreadableError)) throw e;
    before = (await exists(catalogFile)) ? 'unreadable' : 'missing';
  }
  if (before === 'readable' && !opts.replace) {
    throw new RebuildRefusedError(`${catalogFile} is readable; rebuilding would replace it: rebuild with the replace option to do so anyway`);
  }
  const entries = await readdir(dir, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw new Error(`nothing to rebuild: ${dir} does not exist`);
    throw e;
  });
  const summary: RebuildSummary = { ...ref, catalogFile, before, circles: [], points: 0, problems: [] };
  const circles: Circle[] = [];
  const tombstoned = new Set(previous?.retiredCircles ?? []);
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = within(dir, e.name);
    if (e.name === CATALOG_FILE || (e.isFile() && isLeftoverName(e.name))) continue;
    if (e.isSymbolicLink()) throw new UnsafePathError(path, LINK);
    if (!e.isDirectory() || !isValidName('circle', e.name)) {
      summary.problems.push(`${e.name}: not a circle directory; left in place`);
    } else if (tombstoned.has(e.name)) {
      summary.problems.push(`${e.name}: a retired circle being removed; left to the sweep`);
    } else {
      const r = await rebuildCircle(catalog, ref, e.name, opts);
      if (r.circle.points.length) {
        circles.push(r.circle);
        summary.circles.push(r.report);
        summary.points += r.circle.points.length;
      } else {
        summary.problems.push(...r.report.problems.map((p) => `${e.name}: ${p}`));
        if (!r.report.problems.length) summary.problems.push(`${e.name}: no backup data; left in place`);
      }
    }
  }
  const rebuilt: ImageCatalog = { format: CATALOG_FORMAT, cluster: catalog.cluster, pool: ref.pool, image: ref.image, circles };
  if (previous) {
    const kept = new Set(circles.flatMap((c) => c.points.map((p) => p.snapshot)));
    const lost = previous.circles.flatMap((c) => c.points.map((p) => p.snapshot)).filter((s) => !kept.has(s));
    const retired = [...new Set([...(previous.retiredSnapshots ?? []), ...lost])].sort();
    if (retired.length) rebuilt.retiredSnapshots = retired;
    if (previous.retiredCircles?.length) rebuilt.retiredCircles = previous.retiredCircles;
  }
  await catalog.save(rebuilt);
  return summary;
}

/** Images whose catalog cannot be loaded, each with the reason: what `catalog rebuild` is for. */
export async function rebuildableImages(catalog: Catalog): Promise<(ImageRef & { problem: string })[]> {
  const out: (ImageRef & { problem: string })[] = [];
  for (const ref of await catalog.images()) {
    try {
      await catalog.load(ref);
    } catch (e) {
      if (!(e instanceof CatalogUnreadableError)) throw e;
      out.push({ ...ref, problem: e.problem });
    }
  }
  return out;
}

interface FileFound {
  name: string;
  bytes: number;
  mtime: Date;
}

async function rebuildCircle(catalog: Catalog, ref: ImageRef, name: string, opts: RebuildOptions): Promise<{ circle: Circle; report: CircleRebuild }> {
  const dir = await catalog.checkedCircleDir(ref, name);
  const problems: string[] = [];
  const files = new Map<string, FileFound>();
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isSymbolicLink()) throw new UnsafePathError(within(dir, e.name), LINK);
    if (e.name === MANIFEST_FILE || (e.isFile() && isLeftoverName(e.name))) continue;
    if (!e.isFile() || !isExportFileName(e.name)) {
      problems.push(`${name}/${e.name}: not an export file; left in place`);
      continue;
    }
    const st = await lstat(within(dir, e.name));
    files.set(e.name, { name: e.name, bytes: st.size, mtime: st.mtime });
  }

  const m = await catalog.readManifest(ref, name);
  const manifest = m?.ok ? m.value : undefined;
  const whyScan = manifestUnusable(m, ref, files);
  if (!whyScan && manifest) {
    const claimed = new Set(manifest.points.map((p) => basename(p.file)));
    for (const f of files.keys()) if (!claimed.has(f)) problems.push(`${name}/${f}: not in the manifest; left in place`);
    problems.push(...chainProblems({ name, points: manifest.points }));
    return { circle: { name, points: manifest.points }, report: { name, from: 'manifest', points: manifest.points.length, problems } };
  }
  // A circle written before manifests existed (catalog @1) has none: no problem, just a scan.
  if (files.size && m) problems.unshift(`${MANIFEST_FILE} ${whyScan}: rebuilt from the files`);
  const points = await scanChain(dir, name, files, manifest, problems, opts);
  const circle = { name, points };
  if (points.length) await catalog.writeManifest(ref, circle);
  return { circle, report: { name, from: 'scan', points: points.length, problems } };
}

/** Why the manifest cannot be taken as it is, or undefined when it can. */
function manifestUnusable(m: Parsed<CircleManifest> | undefined, ref: ImageRef, files: Map<string, FileFound>): string | undefined {
  if (!m) return 'is missing';
  if (!m.ok) return m.problem;
  const manifest = m.value;
  if (manifest.pool !== ref.pool || manifest.image !== ref.image) return `describes ${manifest.pool}/${manifest.image}`;
  if (!manifest.points.length) return 'lists no points';
  for (const p of manifest.points) {
    const f = files.get(basename(p.file));
    if (!f) return `lists ${p.file}, which is missing`;
    if (f.bytes !== p.bytes) return `records ${p.bytes} bytes for ${p.file}, which has ${f.bytes}`;
  }
  return undefined;
}

interface Candidate {
  file: FileFound;
  snapshot: string;
  from: string | null;
}

/** The chain from the circle's full through each diff that starts where the previous one ended. */
async function scanChain(
  dir: string,
  circle: string,
  files: Map<string, FileFound>,
  manifest: CircleManifest | undefined,
  problems: string[],
  opts: RebuildOptions,
): Promise<Point[]> {
  const candidates: Candidate[] = [];
  for (const f of files.values()) {
    const c = await candidate(dir, circle, f, problems);
    if (c) candidates.push(c);
  }
  const known = new Map((manifest?.points ?? []).map((p) => [p.snapshot, p]));
  const points: Point[] = [];
  const used = new Set<Candidate>();
  let next = candidates.filter((c) => c.from === null && c.snapshot === circle);
  while (next.length === 1) {
    const c = next[0]!;
    used.add(c);
    const p = await pointOf(dir, circle, c, known.get(c.snapshot), problems, opts);
    if (!p) break;
    points.push(p);
    next = candidates.filter((x) => x.from === c.snapshot && !used.has(x));
  }
  if (next.length > 1) {
    problems.push(`${next.map((c) => `${circle}/${c.file.name}`).join(' and ')} all continue from ${next[0]!.from}: the chain stops before them`);
    for (const c of next) used.add(c);
  }
  if (!points.length && !candidates.some((c) => c.from === null && c.snapshot === circle) && files.size) {
    problems.push(`no full export ${fullFileName(circle)}: nothing in this circle chains`);
  }
  for (const c of candidates) if (!used.has(c)) problems.push(`${circle}/${c.file.name}: does not chain; left in place`);
  return points;
}

/** What a file claims to be, from its name and, for a diff, its header; undefined (and a problem) if unclear. */
async function candidate(dir: string, circle: string, f: FileFound, problems: string[]): Promise<Candidate | undefined> {
  if (f.name.endsWith('.full')) return { file: f, snapshot: f.name.slice(0, -'.full'.length), from: null };
  try {
    const h = await readDiffHeader(within(dir, f.name));
    const named = !!h.fromSnapshot && !!h.toSnapshot && isValidName('snapshot', h.fromSnapshot) && isValidName('snapshot', h.toSnapshot);
    if (!named || diffFileName(h.toSnapshot!, h.fromSnapshot!) !== f.name) {
      problems.push(`${circle}/${f.name}: its header says ${h.fromSnapshot ?? '(no from-snapshot)'} → ${h.toSnapshot ?? '(no to-snapshot)'}, which is not its name; left in place`);
      return undefined;
    }
    return { file: f, snapshot: h.toSnapshot!, from: h.fromSnapshot! };
  } catch (e) {
    problems.push(`${circle}/${f.name}: ${(e as Error).message}; left in place`);
    return undefined;
  }
}

/** The point for a chained file, hashed; undefined (and a problem) when it contradicts the manifest. */
async function pointOf(dir: string, circle: string, c: Candidate, known: Point | undefined, problems: string[], opts: RebuildOptions): Promise<Point | undefined> {
  const file = `${circle}/${c.file.name}`;
  const sum = await sha256File(within(dir, c.file.name), (bytes) => opts.progress?.({ file, bytes }), opts.signal);
  if (known) {
    if (known.file === file && known.bytes === sum.bytes && known.sha256 === sum.sha256) return known;
    problems.push(`${file}: differs from its manifest record (${sum.bytes} bytes, sha256 ${sum.sha256}; recorded ${known.bytes} bytes, ${known.sha256}): the chain stops before it; left in place`);
    return undefined;
  }
  const runTime = runTimeOf(c.snapshot);
  if (!runTime) problems.push(`${file}: ${c.snapshot} is not named rbdbackup-YYYYMMDDTHHMMSSZ: its run time is taken from the file's time`);
  return {
    backupName: isOurSnapshot(c.snapshot) ? c.snapshot.slice(SNAPSHOT_PREFIX.length) : c.snapshot,
    type: c.from === null ? 'full' : 'incr',
    snapshot: c.snapshot,
    fromSnapshot: c.from,
    file,
    bytes: sum.bytes,
    sha256: sum.sha256,
    runTime: runTime ?? c.file.mtime.toISOString(),
    exportedAt: c.file.mtime.toISOString(),
    workflowId: '',
  };
}

/** rbdbackup-20261129T010000Z → 2026-11-29T01:00:00.000Z: the run time that named the snapshot. */
export function runTimeOf(snapshot: string): string | undefined {
  if (!isOurSnapshot(snapshot)) return undefined;
  const t = snapshot.slice(SNAPSHOT_PREFIX.length);
  const iso = `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(9, 11)}:${t.slice(11, 13)}:${t.slice(13, 15)}.000Z`;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) || d.toISOString() !== iso ? undefined : iso;
}

const basename = (file: string): string => file.split('/')[1] ?? '';

async function exists(p: string): Promise<boolean> {
  return !!(await lstat(p).catch(() => undefined));
}
