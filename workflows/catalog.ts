/**
 * `catalog rebuild`: an image's catalog.json rebuilt from its circle directories, under the
 * image's mutex ID so no backup, restore or delete runs on the image meanwhile. Without an image,
 * every image whose catalog cannot be read is rebuilt, one at a time.
 */
import type { Activities } from '../activities/index.js';
import type { RebuildInput } from '../activities/catalog.js';
import type { RebuildSummary } from '../src/catalog/rebuild.js';
import { rebuildAllInputSchema, rebuildInputSchema } from '../src/contract/schema.js';
import { withContract } from './contract.js';
import { underImageMutex } from './image-mutex.js';
import { summarized, wholeImageStep } from './activity-options.js';
import { rebuildSummary } from '../src/contract/summary.js';

const step = (summary: string) => summarized<Activities>(wholeImageStep, summary);

export function rebuildCatalog(input: RebuildInput): Promise<RebuildSummary> {
  return withContract('rebuildCatalog', rebuildInputSchema, input, (i) => step(rebuildSummary(i.image)).rebuildImageCatalog(i));
}

export interface RebuildAllResult {
  rebuilt: RebuildSummary[];
  failed: { pool: string; image: string; error: string }[];
}

export function rebuildCatalogs(input: { cluster: string; destination?: string }): Promise<RebuildAllResult> {
  return withContract('rebuildCatalogs', rebuildAllInputSchema, input, async (i) => {
    const where = { cluster: i.cluster, ...(i.destination ? { destination: i.destination } : {}) };
    const out: RebuildAllResult = { rebuilt: [], failed: [] };
    for (const image of await step('find images whose catalog cannot be read').listRebuildable(where)) {
      const r = await underImageMutex(rebuildCatalog, {
        cluster: i.cluster,
        image,
        kind: 'catalog-rebuild',
        args: [{ ...where, image: { pool: image.pool, image: image.image }, replace: false }],
        step: 'rebuild',
        summary: rebuildSummary(image),
      });
      if (r.ok) out.rebuilt.push(r.value);
      else out.failed.push({ pool: image.pool, image: image.image, error: r.busy ? `busy: ${r.reason}` : r.error.message });
    }
    return out;
  });
}
