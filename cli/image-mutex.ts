import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/client';
import { imageKey } from '../src/names/names.js';
import { imageWorkflowId } from '../src/contract/backup.js';
import { RBD_BACKUP_IMAGES, RBD_BACKUP_KIND } from '../src/contract/search-attributes.js';
import type { Config } from '../src/config/config.js';
import { BusyError, workflowClient } from './common.js';

/**
 * Starts a workflow under an image's mutex ID and waits; a held mutex is a clear refusal. `summary`
 * is the line the Web UI lists the run under.
 */
export async function underImageMutex<T>(cfg: Config, image: { pool: string; image: string }, kind: string, workflowType: string, arg: unknown, summary?: string): Promise<T> {
  const { client, close } = await workflowClient(cfg);
  try {
    const workflowId = imageWorkflowId(cfg.cluster.name, image);
    try {
      const h = await client.workflow.start(workflowType, {
        taskQueue: cfg.temporal.task_queue,
        workflowId,
        args: [arg],
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        typedSearchAttributes: [
          { key: RBD_BACKUP_KIND, value: kind },
          { key: RBD_BACKUP_IMAGES, value: [imageKey(image)] },
        ],
        ...(summary ? { staticSummary: summary } : {}),
      });
      return (await h.result()) as T;
    } catch (e) {
      if (e instanceof WorkflowExecutionAlreadyStartedError) throw new BusyError(`${imageKey(image)} is busy: ${workflowId} is running (a backup, restore, verify or delete); try again later`);
      throw e;
    }
  } finally {
    await close();
  }
}
