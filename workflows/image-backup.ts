/**
 * One image of one run: snapshot → export → snapshot retention → circle pruning. It runs under the
 * image's own workflow ID (see imageWorkflowId), so no two runs, restores or deletes touch an image
 * at once. Failures are reported, never thrown: one image must not stop the others.
 */
import { ActivityCancellationType, CancellationScope, defineQuery, isCancellation, setHandler, workflowInfo } from '@temporalio/workflow';
import type { BackupActivities } from '../activities/backup.js';
import { exportQueue, snapDeleteQueue, snapshotQueue, type ImagePlan, type ImageResult } from '../src/contract/backup.js';
import { failureDetail } from './failure.js';
import { withContract } from './contract.js';
import { deletionStep, exportRetry, shortStep, summarized } from './activity-options.js';
import { backupStepSummary as say } from '../src/contract/summary.js';
import { imagePlanSchema } from '../src/contract/schema.js';
import { PROGRESS_QUERY, type ImageBackupProgress, type ImageStep } from '../src/contract/progress.js';
import { imageBackupMetrics } from './metrics.js';

export const imageProgressQuery = defineQuery<ImageBackupProgress>(PROGRESS_QUERY);


/** Stuck, not slow: an export gets 10 minutes plus its image's size at the slowest acceptable rate. */
export function exportTimeoutSeconds(plan: Pick<ImagePlan, 'sizeBytes' | 'exportMinBytesPerSecond'>): number {
  return 600 + Math.ceil(plan.sizeBytes / plan.exportMinBytesPerSecond);
}

/** Each step's proxy takes the line the Web UI shows for that call. */
function activitiesFor(taskQueue: string, plan: ImagePlan) {
  const steps = (summary: string) => summarized<BackupActivities>(shortStep, summary);
  const exporter = (summary: string) => summarized<BackupActivities>({
    taskQueue: exportQueue(taskQueue),
    // A crashed worker is noticed by the missing heartbeat, not after a day.
    heartbeatTimeout: '30s',
    startToCloseTimeout: `${exportTimeoutSeconds(plan)}s`,
    // The snapshot is removed after a cancelled export: only once rbd has stopped reading it.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: exportRetry,
  }, summary);
  const deleter = (summary: string) => summarized<BackupActivities>({ ...deletionStep, taskQueue: snapDeleteQueue(taskQueue) }, summary);
  // A queue of its own whose worker slots bound how many `rbd snap create` run at once: a fleet's
  // children all start together, and a hundred rbd processes at once starve the exports. (Only
  // the task queue differs from the short steps': an activity option, not a command.)
  const snapshotter = (summary: string) => summarized<BackupActivities>({ ...shortStep, taskQueue: snapshotQueue(taskQueue) }, summary);
  return { steps, exporter, deleter, snapshotter };
}

export function imageBackup(plan: ImagePlan): Promise<ImageResult> {
  return withContract('imageBackup', imagePlanSchema, plan, backUpImage);
}

async function backUpImage(plan: ImagePlan): Promise<ImageResult> {
  const { steps, exporter, deleter, snapshotter } = activitiesFor(workflowInfo().taskQueue, plan);
  // Kept in workflow state, read by the query only: the step costs no history event.
  let at: ImageStep = 'snapshot';
  setHandler(imageProgressQuery, () => ({ parentWorkflowId: plan.parentWorkflowId, backupName: plan.backupName, step: at }));
  const result: ImageResult = {
    pool: plan.pool,
    image: plan.image,
    status: 'ok',
    type: plan.type,
    reason: plan.reason,
    snapshot: plan.snapshot,
    circle: plan.circle,
  };
  if (plan.fromSnapshot) result.fromSnapshot = plan.fromSnapshot;
  const started = Date.now();

  const retention = { cluster: plan.cluster, destination: plan.destination, pool: plan.pool, image: plan.image, run: plan.backupName };
  let step = 'snapshot';
  try {
    await snapshotter(say.snapshot(plan)).createSnapshot(plan);
    step = 'export';
    at = 'export';
    const exp = await exporter(say.export(plan)).exportPoint({ ...plan, workflowId: workflowInfo().workflowId });
    Object.assign(result, exp);
  } catch (e) {
    if (isCancellation(e)) {
      at = 'deleting snapshots';
      // Cancelled runs still remove their own snapshot, or it would linger unrecorded.
      await CancellationScope.nonCancellable(() => deleter(say.deleteSnapshots(plan, true)).pruneSnapshots({ ...retention, retain: plan.snapshotRetainCount, failedSnapshot: plan.snapshot }));
      at = 'cancelled';
      throw e;
    }
    result.status = 'failed';
    result.error = failureDetail(e, step);
  }
  result.durationMs = Date.now() - started;

  // Retention runs after a failure too: the failed snapshot must go so it never becomes a base,
  // and the retention rule itself keeps the last good one.
  result.cleanupErrors = [];
  at = 'deleting snapshots';
  try {
    const failed = result.status === 'failed' ? { failedSnapshot: plan.snapshot } : {};
    const del = await deleter(say.deleteSnapshots(plan, result.status === 'failed')).pruneSnapshots({ ...retention, retain: plan.snapshotRetainCount, ...failed });
    result.deletedSnapshots = del.deleted;
    result.cleanupErrors.push(...del.errors);
  } catch (e) {
    result.cleanupErrors.push(failureDetail(e, 'snapshot deletion'));
  }
  at = 'pruning';
  try {
    const pruned = await steps(say.pruneCircles(plan)).pruneCircles({ ...retention, retain: plan.circleRetainCount });
    result.prunedCircles = pruned.pruned;
    if (pruned.unclaimed?.length) result.unclaimed = pruned.unclaimed;
  } catch (e) {
    result.cleanupErrors.push(failureDetail(e, 'circle pruning'));
  }
  at = result.status === 'failed' ? 'failed' : 'done';
  imageBackupMetrics(result);
  return result;
}
