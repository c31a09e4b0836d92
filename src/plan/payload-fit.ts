/**
 * Keeps a run's results within Temporal's 2 MiB payload limit: thousands of failing images, each
 * with rbd's stderr, would otherwise fail the very run whose report is needed most. Stderr is cut
 * from the front (the end of rbd's output says why) only as far as needed.
 */
import type { ImageResult } from '../contract/backup.js';

export const PAYLOAD_BUDGET = 1_500_000;

export function fitResults(results: ImageResult[], budget = PAYLOAD_BUDGET): ImageResult[] {
  for (const keep of [Infinity, 1024, 256, 0]) {
    const fitted = results.map((r) => trim(r, keep));
    if (JSON.stringify(fitted).length <= budget || keep === 0) return fitted;
  }
  return results;
}

function trim(r: ImageResult, keep: number): ImageResult {
  const cut = (s: string | undefined) => (s !== undefined && s.length > keep ? (keep ? '…' + s.slice(-keep) : '…') : s);
  if (keep === Infinity) return r;
  const out: ImageResult = { ...r };
  if (r.error) out.error = { ...r.error, stderr: cut(r.error.stderr) ?? '' };
  if (r.cleanupErrors) out.cleanupErrors = r.cleanupErrors.map((e) => ({ ...e, stderr: cut(e.stderr) ?? '' }));
  return out;
}
