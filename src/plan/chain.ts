/**
 * Pure chain logic over catalog points: which point a restore means, which points it needs, and
 * which points a damaged file makes unrestorable. A circle is restorable up to point k only if
 * its full and every diff before k are intact and each diff starts where the previous one ended.
 */
import type { Circle, ImageCatalog, Point } from '../catalog/catalog.js';
import { instantProblem } from '../contract/schema.js';

export type Resolution = { circle: Circle; index: number } | { error: string };

/** POINT is a backup name, a snapshot name, or an ISO 8601 instant (newest point at or before it). */
export function resolvePoint(c: ImageCatalog, at: string): Resolution {
  const all = c.circles.flatMap((circle) => circle.points.map((p, index) => ({ circle, index, p })));
  const exact = all.filter((x) => x.p.backupName === at || x.p.snapshot === at);
  if (exact.length === 1) return { circle: exact[0]!.circle, index: exact[0]!.index };
  if (exact.length > 1) return { error: `point ${at} is ambiguous (${exact.length} matches)` };
  if (/^\d{4}-\d{2}-\d{2}T/.test(at)) {
    // Date.parse would roll 02-30 or 24:00 over into another day, and read a zone-less time in
    // the worker's zone: an impossible or ambiguous instant is an error, not another point.
    const problem = instantProblem(at);
    if (problem) return { error: problem };
    const t = Date.parse(at);
    const before = all.filter((x) => Date.parse(x.p.runTime) <= t).sort((a, b) => Date.parse(a.p.runTime) - Date.parse(b.p.runTime));
    const last = before.at(-1);
    if (last) return { circle: last.circle, index: last.index };
    return { error: `no point of ${c.pool}/${c.image} at or before ${at}` };
  }
  return { error: `no point named ${at} for ${c.pool}/${c.image} (give a backup name, a snapshot name or an ISO 8601 instant)` };
}

/** Problems in the catalog's own chain of a circle up to `index` (inclusive). */
export function chainProblems(circle: Circle, index = circle.points.length - 1): string[] {
  const out: string[] = [];
  const pts = circle.points.slice(0, index + 1);
  const first = pts[0];
  if (!first || first.type !== 'full') out.push(`circle ${circle.name} does not start with a full export`);
  else if (first.snapshot !== circle.name) out.push(`circle ${circle.name} starts with ${first.snapshot}`);
  for (let i = 1; i < pts.length; i++) {
    const p = pts[i]!;
    const prev = pts[i - 1]!;
    if (p.type !== 'incr') out.push(`${p.file}: a full export in the middle of circle ${circle.name}`);
    else if (p.fromSnapshot !== prev.snapshot) out.push(`${p.file}: starts at ${p.fromSnapshot}, but the previous point is ${prev.snapshot}`);
  }
  return out;
}

/** Points made unrestorable by broken files: every point from the first broken one on. */
export function unrestorablePoints(circle: Circle, brokenFiles: Set<string>): Point[] {
  const k = circle.points.findIndex((p) => brokenFiles.has(p.file));
  return k < 0 ? [] : circle.points.slice(k);
}
