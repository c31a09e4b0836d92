/**
 * `run --dry-run` and `show images`: what a backup run would do today, and why, with nothing
 * done. The same two read-only steps a run starts with (resolveRun, planRun) and the run's own
 * decisions (src/plan/preview.ts); no snapshot, no file, no search attribute, no child. It is a
 * workflow only because the worker is what reads the cluster and the catalog.
 */
import { workflowInfo } from '@temporalio/workflow';
import type { BackupActivities } from '../activities/backup.js';
import type { BackupRunInput } from '../src/contract/backup.js';
import type { BackupPlan } from '../src/contract/plan.js';
import { backupRunInputSchema } from '../src/contract/schema.js';
import { compactUtc, snapshotNameFor } from '../src/names/names.js';
import { weekdayOf } from '../src/plan/decision.js';
import { previewRun } from '../src/plan/preview.js';
import { planStepSummary } from '../src/contract/summary.js';
import { planStep, summarized } from './activity-options.js';
import { withContract } from './contract.js';

/** Each step with the line the Web UI lists it under. */
const step = (summary: string) => summarized<BackupActivities>(planStep, summary);

export function planBackup(input: BackupRunInput): Promise<BackupPlan> {
  return withContract('planBackup', backupRunInputSchema, input, async (i) => {
    // As backupRun names its run: the as-of instant, else now, to the second.
    const t = i.asOf !== undefined ? new Date(i.asOf) : new Date();
    const runTime = new Date(Math.floor(t.getTime() / 1000) * 1000);
    const backupName = i.backupName ?? compactUtc(runTime);
    const snapshot = snapshotNameFor(runTime);
    const { policy, images, skipped: unresolved } = await step(planStepSummary.resolve(i.images)).resolveRun({ cluster: i.cluster, ...(i.destination ? { destination: i.destination } : {}), ...(i.images ? { images: i.images } : {}) });
    const rule = {
      weekday: weekdayOf(runTime, policy.timezone),
      fullWeekdays: policy.fullWeekdays,
      incrementalWeekdays: policy.incrementalWeekdays,
      maxIncremental: policy.maxIncremental,
    };
    const head = { cluster: i.cluster, backupName, runTime: runTime.toISOString(), snapshot, policy, rule, images, ...(unresolved ? { unresolved } : {}) };
    const scheduledToday = [...rule.fullWeekdays, ...rule.incrementalWeekdays].includes(rule.weekday);
    // backupRun stops here too, before it asks the cluster anything.
    if (!scheduledToday && !images.some((s) => s.backupType)) return previewRun(head);
    const plan = await step(planStepSummary.plan(images)).planRun({ cluster: i.cluster, destination: policy.destination, images, backupName, snapshot, workflowId: workflowInfo().workflowId });
    return previewRun({ ...head, plan });
  });
}
