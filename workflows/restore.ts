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
 * the end; on failure or cancellation only what this restore made is removed. The image's sha256:
 * read back with `checkImage` (for a full alone, compared with the full's before the rename);
 * without it, a full alone's own sha256 (its file is the image byte for byte, checked while
 * imported), and none for a chain with diffs.
 */
export async function restoreSteps(
  plan: RestorePlan,
  keepSnapshots: boolean,
  force: boolean,
  checkImage = false,
): Promise<{ sha256?: string; sha256From?: 'image' | 'file'; applied: string[] }> {
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
    // A full alone whose snapshot is not kept needs none (only the input changes: no patch).
    const noSnapshot = plan.chain.length === 1 && !keepSnapshots;
    await wholeImageAs(restoreStepSummary(plan.chain[0]!, plan.target)).importFull({ ...step(plan.chain[0]!), ...(noSnapshot ? { noSnapshot } : {}) });
    applied.push(plan.chain[0]!.file);
    for (const link of plan.chain.slice(1)) {
      await wholeImageAs(restoreStepSummary(link, plan.target)).applyDiff(step(link));
      applied.push(link.file);
    }
    const full = plan.chain.length === 1 ? plan.chain[0]! : undefined;
    // Only the input changes with checkImage, not the commands: no patch needed.
    const read = await wholeImageAs(`finish restore into ${imageKey(plan.target)}`).finishRestore({
      target: plan.target,
      keepSnapshots,
      snapshots: plan.chain.map((l) => l.snapshot),
      force,
      ...(checkImage ? { checkImage, ...(full ? { reference: { file: full.file, sha256: full.sha256 } } : {}) } : {}),
    });
    // A run recorded before checkImage existed always read the image back: its result is a sha256.
    if (read) return { sha256: read, sha256From: 'image', applied };
    return full ? { sha256: full.sha256, sha256From: 'file', applied } : { applied };
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
  const { applied, ...sum } = await restoreSteps(plan, input.keepSnapshots, input.force, input.checkImage ?? false);
  return {
    source: plan.source,
    ...(plan.fromCluster ? { fromCluster: plan.fromCluster } : {}),
    target: plan.target,
    point: plan.point,
    applied,
    keptSnapshots: input.keepSnapshots,
    ...sum,
    durationMs: Date.now() - started,
  };
}
