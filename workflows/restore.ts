/**
 * Restore, verify and delete, each under the image's own workflow ID (the mutex every backup run
 * also takes), so none of them runs on an image while a backup works on it.
 */
import { CancellationScope, ParentClosePolicy, WorkflowIdReusePolicy, proxyActivities, startChild } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities/index.js';
import { imageWorkflowId } from '../src/contract/backup.js';
import { RBD_BACKUP_IMAGES, RBD_BACKUP_KIND } from '../src/contract/search-attributes.js';
import { deleteInputSchema, restoreInputSchema, verifyImageInputSchema, verifyInputSchema } from '../src/contract/schema.js';
import { withContract } from './contract.js';
import type {
  DeleteInput,
  DeleteResult,
  ImageVerification,
  RestoreInput,
  RestorePlan,
  RestoreResult,
  VerifyInput,
  VerifyReport,
} from '../src/contract/restore.js';
import { imageKey, compactUtc, type ImageRef } from '../src/names/names.js';
import { failureDetail } from './failure.js';

const retry = { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m' };
const short = proxyActivities<Activities>({ startToCloseTimeout: '10m', retry: { ...retry, maximumAttempts: 5 } });
// Anything that reads or writes whole images (hashing, import, removal) may take hours; they all
// heartbeat, so a crashed worker is still noticed within 20 s.
const transfer = proxyActivities<Activities>({ startToCloseTimeout: '24h', heartbeatTimeout: '20s', retry: { ...retry, maximumAttempts: 8 } });

/**
 * Import the full, then each diff in order, into a staging image that is renamed to the target at
 * the end; on failure or cancellation only what this restore made is removed.
 */
async function restoreSteps(plan: RestorePlan, keepSnapshots: boolean, force: boolean): Promise<{ sha256: string; applied: string[] }> {
  const applied: string[] = [];
  const step = (link: RestorePlan['chain'][number]) => ({ cluster: plan.cluster, ...(plan.destination ? { destination: plan.destination } : {}), source: plan.source, target: plan.target, link });
  try {
    await transfer.importFull(step(plan.chain[0]!));
    applied.push(plan.chain[0]!.file);
    for (const link of plan.chain.slice(1)) {
      await transfer.applyDiff(step(link));
      applied.push(link.file);
    }
    const sha256 = await transfer.finishRestore({ target: plan.target, keepSnapshots, snapshots: plan.chain.map((l) => l.snapshot), force });
    return { sha256, applied };
  } catch (e) {
    await CancellationScope.nonCancellable(() => transfer.discardRestore({ target: plan.target }));
    throw e;
  }
}

export function restoreImage(input: RestoreInput): Promise<RestoreResult> {
  return withContract('restoreImage', restoreInputSchema, input, restore);
}

async function restore(input: RestoreInput): Promise<RestoreResult> {
  const started = Date.now();
  const plan = await transfer.planRestore(input);
  const { sha256, applied } = await restoreSteps(plan, input.keepSnapshots, input.force);
  return { source: plan.source, target: plan.target, point: plan.point, applied, keptSnapshots: input.keepSnapshots, sha256, durationMs: Date.now() - started };
}

export interface VerifyImageInput {
  cluster: string;
  destination?: string;
  image: ImageRef;
  /** The operator named this image, so "no backups" is a finding, not an empty catalog. */
  explicit: boolean;
  deep: boolean;
}

export function verifyImage(input: VerifyImageInput): Promise<ImageVerification> {
  return withContract('verifyImage', verifyImageInputSchema, input, verifyOneImage);
}

async function verifyOneImage(input: VerifyImageInput): Promise<ImageVerification> {
  const where = { cluster: input.cluster, ...(input.destination ? { destination: input.destination } : {}) };
  const v = await transfer.verifyFiles({ ...where, image: input.image, explicit: input.explicit });
  // Deep: restore the newest point to a scratch image and compare it with the source snapshot.
  // Broken files already make the answer 'no'; a restore would only refuse.
  if (!input.deep || v.files.length === 0 || !v.ok) return v;
  const scratch = { pool: input.image.pool, image: `${input.image.image}-verify-${compactUtc(new Date())}` };
  try {
    const plan = await transfer.planRestore({
      ...where,
      source: input.image,
      // An instant after every point resolves to the newest one.
      at: '9999-12-31T23:59:59Z',
      target: scratch,
      force: false,
      keepSnapshots: false,
    });
    const deep: NonNullable<ImageVerification['deep']> = { point: plan.point.backupName, snapshot: plan.point.snapshot };
    try {
      deep.restoredSha256 = (await restoreSteps(plan, false, false)).sha256;
      const src = await transfer.snapshotSha256({ image: input.image, snapshot: plan.point.snapshot });
      if (src === null) deep.note = `source snapshot ${plan.point.snapshot} no longer exists; restore succeeded, no byte comparison possible`;
      else {
        deep.sourceSha256 = src;
        deep.match = src === deep.restoredSha256;
      }
    } finally {
      await CancellationScope.nonCancellable(() => transfer.discardRestore({ target: scratch }));
    }
    v.deep = deep;
    if (deep.match === false) v.ok = false;
  } catch (e) {
    v.deep = { point: 'newest', snapshot: '', error: failureDetail(e, 'deep verify').message };
    v.ok = false;
  }
  return v;
}

export function verifyRun(input: VerifyInput): Promise<VerifyReport> {
  return withContract('verifyRun', verifyInputSchema, input, verifyAll);
}

async function verifyAll(input: VerifyInput): Promise<VerifyReport> {
  const where = { cluster: input.cluster, ...(input.destination ? { destination: input.destination } : {}) };
  const images = input.images ?? (await short.listCataloged(where));
  // Bounded: deep checks restore whole images onto the cluster, two at a time; plain checks read
  // the backup disk, 20 at a time. Groups also keep pending children far below Temporal's limit.
  const group = input.deep ? 2 : 20;
  const results: ImageVerification[] = [];
  for (let i = 0; i < images.length; i += group) results.push(...(await Promise.all(images.slice(i, i + group).map(verifyOne))));
  return { cluster: input.cluster, ok: results.every((r) => r.ok), images: results };

  async function verifyOne(image: ImageRef): Promise<ImageVerification> {
    const workflowId = imageWorkflowId(input.cluster, image);
    try {
      const child = await startChild(verifyImage, {
        args: [{ ...where, image, explicit: !!input.images, deep: input.deep }],
        workflowId,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        typedSearchAttributes: [
          { key: RBD_BACKUP_KIND, value: 'verify' },
          { key: RBD_BACKUP_IMAGES, value: [imageKey(image)] },
        ],
      });
      return await child.result();
    } catch (e) {
      const error = e instanceof WorkflowExecutionAlreadyStartedError ? `busy: another run holds ${workflowId}` : failureDetail(e, 'verify').message;
      return { ...image, ok: false, files: [], unrestorable: [], chainProblems: [], error };
    }
  }
}

export function deleteBackup(input: DeleteInput): Promise<DeleteResult> {
  return withContract('deleteBackup', deleteInputSchema, input, (i) => short.deletePoints(i));
}
