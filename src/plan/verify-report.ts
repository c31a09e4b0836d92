/**
 * Pure shaping of verify results: problems in full, clean images as counts (and one short line
 * each for deep comparisons), so any number of images fits a Temporal payload.
 */
import type { ImageVerification, VerifyReport } from '../contract/restore.js';

export function summarizeVerification(cluster: string, v: ImageVerification): VerifyReport {
  if (!v.ok) {
    return { cluster, ok: false, checked: 1, clean: 0, images: [{ ...v, files: v.files.filter((f) => f.status !== 'ok') }] };
  }
  const r: VerifyReport = { cluster, ok: true, checked: 1, clean: 1, images: [] };
  if (v.deep) {
    const line: NonNullable<VerifyReport['deep']>[number] = { pool: v.pool, image: v.image, point: v.deep.point };
    if (v.deep.match !== undefined) line.match = v.deep.match;
    if (v.deep.note !== undefined) line.note = v.deep.note;
    r.deep = [line];
  }
  return r;
}

export function mergeVerifyReports(cluster: string, parts: VerifyReport[]): VerifyReport {
  const out: VerifyReport = { cluster, ok: true, checked: 0, clean: 0, images: [] };
  for (const p of parts) {
    out.ok &&= p.ok;
    out.checked += p.checked;
    out.clean += p.clean;
    out.images.push(...p.images);
    if (p.deep) (out.deep ??= []).push(...p.deep);
  }
  return out;
}
