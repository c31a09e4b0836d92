/**
 * `catalog rebuild`: an image's catalog.json rebuilt from its circle directories, under the
 * image's mutex ID so no backup, restore or delete runs on the image meanwhile. Without an image,
 * every image whose catalog cannot be read is rebuilt, one at a time.
 */
import { ParentClosePolicy, WorkflowIdReusePolicy, proxyActivities, startChild } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities/index.js';
import type { RebuildInput } from '../activities/catalog.js';
import type { RebuildSummary } from '../src/catalog/rebuild.js';
import { imageWorkflowId } from '../src/contract/backup.js';
import { RBD_BACKUP_IMAGES, RBD_BACKUP_KIND } from '../src/contract/search-attributes.js';
import { rebuildAllInputSchema, rebuildInputSchema } from '../src/contract/schema.js';
import { imageKey } from '../src/names/names.js';
import { withContract } from './contract.js';
import { failureDetail } from './failure.js';

const { rebuildImageCatalog, listRebuildable } = proxyActivities<Activities>({
  startToCloseTimeout: '24h',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 },
});

export function rebuildCatalog(input: RebuildInput): Promise<RebuildSummary> {
  return withContract('rebuildCatalog', rebuildInputSchema, input, (i) => rebuildImageCatalog(i));
}

export interface RebuildAllResult {
  rebuilt: RebuildSummary[];
  failed: { pool: string; image: string; error: string }[];
}

export function rebuildCatalogs(input: { cluster: string; destination?: string }): Promise<RebuildAllResult> {
  return withContract('rebuildCatalogs', rebuildAllInputSchema, input, async (i) => {
    const where = { cluster: i.cluster, ...(i.destination ? { destination: i.destination } : {}) };
    const out: RebuildAllResult = { rebuilt: [], failed: [] };
    for (const image of await listRebuildable(where)) {
      const workflowId = imageWorkflowId(i.cluster, image);
      try {
        const child = await startChild(rebuildCatalog, {
          args: [{ ...where, image: { pool: image.pool, image: image.image }, replace: false }],
          workflowId,
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
          parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
          typedSearchAttributes: [
            { key: RBD_BACKUP_KIND, value: 'catalog-rebuild' },
            { key: RBD_BACKUP_IMAGES, value: [imageKey(image)] },
          ],
        });
        out.rebuilt.push(await child.result());
      } catch (e) {
        const error = e instanceof WorkflowExecutionAlreadyStartedError ? `busy: another run holds ${workflowId}` : failureDetail(e, 'rebuild').message;
        out.failed.push({ pool: image.pool, image: image.image, error });
      }
    }
    return out;
  });
}
