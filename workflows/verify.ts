/**
 * Verify: every stored file against the catalog's sha256 and chain, and with --deep a restore of
 * the newest point compared byte for byte with its snapshot. Each image is checked under its own
 * mutex ID. Runs of thousands of images are split into batches like backup runs, and results
 * carry problems in full but only counts for clean images, so 2,000 images × 28 points stay far
 * inside Temporal's history and payload limits.
 */
import { CancellationScope, ParentClosePolicy, executeChild, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { imageRefSchema, verifyImageInputSchema, verifyInputSchema } from '../src/contract/schema.js';
import type { ImageVerification, VerifyInput, VerifyReport } from '../src/contract/restore.js';
import { compactUtc, imageKey, type ImageRef } from '../src/names/names.js';
import { BATCH_SIZE, chunk } from '../src/plan/batch.js';
import { summarizeVerification, mergeVerifyReports } from '../src/plan/verify-report.js';
import { failureDetail } from './failure.js';
import { withContract } from './contract.js';
import { underImageMutex } from './image-mutex.js';
import { restoreSteps, wholeImageAs } from './restore.js';
import { shortStep, summarized } from './activity-options.js';
import { verifyMetrics } from './metrics.js';
import { batchSummary, verifySummary } from '../src/contract/summary.js';
import { z } from 'zod';


export interface VerifyImageInput {
  cluster: string;
  destination?: string;
  /** Another cluster's backups (read-only; never with `deep`). */
  fromCluster?: string;
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
  const v = await wholeImageAs(`verify files of ${input.fromCluster ? `${input.fromCluster}:` : ''}${imageKey(input.image)}`).verifyFiles({ ...where, ...(input.fromCluster ? { fromCluster: input.fromCluster } : {}), image: input.image, explicit: input.explicit });
  // Deep: restore the newest point to a scratch image and compare it with the source snapshot.
  // Broken files already make the answer 'no'; a restore would only refuse. The run's contract
  // keeps deep away from another cluster's backups, whose snapshots are not here.
  if (!input.deep || input.fromCluster !== undefined || v.files.length === 0 || !v.ok) return v;
  const scratch = { pool: input.image.pool, image: `${input.image.image}-verify-${compactUtc(new Date())}` };
  try {
    const plan = await wholeImageAs(`plan deep verify of ${imageKey(input.image)}: restore the newest point to ${imageKey(scratch)}`).planRestore({
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
      deep.restoredSha256 = (await restoreSteps(plan, false, false, true)).sha256;
      const src = await wholeImageAs(`checksum ${imageKey(input.image)}@${plan.point.snapshot}`).snapshotSha256({ image: input.image, snapshot: plan.point.snapshot });
      if (src === null) deep.note = `source snapshot ${plan.point.snapshot} no longer exists; restore succeeded, no byte comparison possible`;
      else {
        deep.sourceSha256 = src;
        deep.match = src === deep.restoredSha256;
      }
    } finally {
      await CancellationScope.nonCancellable(() => wholeImageAs(`remove scratch image ${imageKey(scratch)}`).discardRestore({ target: scratch }));
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
  return withContract('verifyRun', verifyInputSchema, input, async (i) => {
    const report = await verifyAll(i);
    verifyMetrics(report);
    return report;
  });
}

async function verifyAll(input: VerifyInput): Promise<VerifyReport> {
  const where = { cluster: input.cluster, ...(input.destination ? { destination: input.destination } : {}), ...(input.fromCluster ? { fromCluster: input.fromCluster } : {}) };
  // Another cluster's directory is listed even when images are named: a misspelt name is then
  // refused as bad input (with the names that are there), not reported as images without backups.
  const listed = input.images === undefined || input.fromCluster !== undefined ? await summarized<Activities>(shortStep, `list cataloged images${input.fromCluster ? ` of ${input.fromCluster}` : ''}`).listCataloged(where) : undefined;
  const images = input.images ?? listed!;
  const batch = { ...where, explicit: !!input.images, deep: input.deep };
  if (images.length <= BATCH_SIZE) return verifyBatch({ ...batch, images });
  const { workflowId } = workflowInfo();
  const parts = await Promise.all(
    chunk(images, BATCH_SIZE).map((slice, i) =>
      executeChild(verifyBatch, {
        args: [{ ...batch, images: slice }],
        workflowId: `${workflowId}/batch-${i}`,
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        staticSummary: batchSummary(verifySummary(undefined, input.deep), i, slice),
      }),
    ),
  );
  return mergeVerifyReports(input.cluster, parts);
}

const verifyBatchSchema = verifyImageInputSchema.omit({ image: true }).extend({ images: z.array(imageRefSchema).max(BATCH_SIZE) }).strict();
type VerifyBatchInput = z.infer<typeof verifyBatchSchema>;

/** Up to BATCH_SIZE images, a few at a time: deep checks restore whole images onto the cluster. */
export function verifyBatch(input: VerifyBatchInput): Promise<VerifyReport> {
  return withContract('verifyBatch', verifyBatchSchema, input, async (b) => {
    const group = b.deep ? 2 : 20;
    const results: VerifyReport[] = [];
    for (const slice of chunk(b.images, group)) {
      results.push(mergeVerifyReports(b.cluster, (await Promise.all(slice.map((image) => verifyOne(b, image)))).map((v) => summarizeVerification(b.cluster, v))));
    }
    return mergeVerifyReports(b.cluster, results);
  });
}

async function verifyOne(b: VerifyBatchInput, image: ImageRef): Promise<ImageVerification> {
  const r = await underImageMutex(verifyImage, {
    // Another cluster's backups are guarded by that cluster's image ID: a worker of it on this
    // namespace may be writing them, and this cluster's image of the same name is not involved.
    cluster: b.fromCluster ?? b.cluster,
    image,
    kind: 'verify',
    args: [{ cluster: b.cluster, ...(b.destination ? { destination: b.destination } : {}), ...(b.fromCluster ? { fromCluster: b.fromCluster } : {}), image, explicit: b.explicit, deep: b.deep }],
    step: 'verify',
    summary: verifySummary([image], b.deep),
  });
  if (r.ok) return r.value;
  return { ...image, ok: false, files: [], unrestorable: [], chainProblems: [], error: r.busy ? `busy: ${r.reason}` : r.error.message };
}
