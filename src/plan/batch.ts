/**
 * Splitting work into batches so no workflow outgrows Temporal's limits: at most BATCH_SIZE
 * children per workflow, far under the 2,000 pending children and the ~10k-event history warning.
 */
export const BATCH_SIZE = 500;

export function chunk<T>(list: T[], size: number): T[][] {
  if (!(size >= 1)) throw new Error(`chunk size ${size} must be at least 1`);
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}
