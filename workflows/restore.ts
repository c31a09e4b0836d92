/**
 * Restore, under the image's own workflow ID (the mutex every backup run also takes), so it never
 * runs on an image while a backup works on it; which image that is: restoreMutexImage. With
 * `fromCluster` (disaster recovery) the chain is read from another cluster's backups; the
 * commands are the same, so runs that started before it replay unchanged.
 */
import { CancellationScope, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { restoreInputSchema } from '../src/contract/schema.js';
import { withContract } from './contract.js';
import { summarized, wholeImageStep } from './activity-options.js';
import { imageKey } from '../src/names/names.js';
import { restoreSourceText, restoreStepSummary } from '../src/contract/summary.js';
import type { RestoreInput, RestorePlan, RestoreResult } from '../src/contract/restore.js';
import { measuredRestore } from './metrics.js';

export const wholeImage = proxyActivities<Activities>(wholeImageStep);
/** A whole-image step with the line the Web UI lists it under. */
export const wholeImageAs = (summary: string) => summarized<Activities>(wholeImageStep, summary);

/**
 * Import the full, then each diff in order, into a staging image that is renamed to the target at
 * the end; on failure or cancellation only what this restore made is removed.
 */
export async function restoreSteps(plan: RestorePlan, keepSnapshots: boolean, force: boolean): Promise<{ sha256: string; applied: string[] }> {
  const applied: string[] = [];
  // fromCluster only when set: a plan made before it existed gives the very same activity input.
  const step = (link: RestorePlan['chain'][number]) => ({
    cluster: plan.cluster,
    ...(plan.destination ? { destination: plan.destination } : {}),
    ...(plan.fromCluster ? { fromCluster: plan.fromCluster } : {}),
    source: plan.source,
    target: plan.target,
    link,
  });
  try {
    await wholeImageAs(restoreStepSummary(plan.chain[0]!, plan.target)).importFull(step(plan.chain[0]!));
    applied.push(plan.chain[0]!.file);
    for (const link of plan.chain.slice(1)) {
      await wholeImageAs(restoreStepSummary(link, plan.target)).applyDiff(step(link));
      applied.push(link.file);
    }
    const sha256 = await wholeImageAs(`finish restore into ${imageKey(plan.target)}`).finishRestore({ target: plan.target, keepSnapshots, snapshots: plan.chain.map((l) => l.snapshot), force });
    return { sha256, applied };
  } catch (e) {
    await CancellationScope.nonCancellable(() => wholeImageAs(`discard what this restore made of ${imageKey(plan.target)}`).discardRestore({ target: plan.target }));
    throw e;
  }
}

export function restoreImage(input: RestoreInput): Promise<RestoreResult> {
  return withContract('restoreImage', restoreInputSchema, input, (i) => measuredRestore(i.target ?? i.source, restore(i)));
}

async function restore(input: RestoreInput): Promise<RestoreResult> {
  const started = Date.now();
  const plan = await wholeImageAs(`plan restore of ${restoreSourceText(input.source, input.fromCluster)} at ${input.at}`).planRestore(input);
  const { sha256, applied } = await restoreSteps(plan, input.keepSnapshots, input.force);
  return {
    source: plan.source,
    ...(plan.fromCluster ? { fromCluster: plan.fromCluster } : {}),
    target: plan.target,
    point: plan.point,
    applied,
    keptSnapshots: input.keepSnapshots,
    sha256,
    durationMs: Date.now() - started,
  };
}
