/**
 * One backup run, top to bottom as the original tool did it:
 *   plan → decide full/incr → snapshot fan-out → export fan-out (bounded) →
 *   sequential snapshot deletion → circle pruning → report.
 * Per image the last four steps run in an imageBackup child (the image's mutex). Snapshots are
 * taken as the children start, on a queue with a few slots; exports queue on a task queue whose
 * worker slots are `concurrency`; the worker runs snapshot deletions one at a time.
 */
import {
  CancellationScope,
  CancelledFailure,
  ParentClosePolicy,
  defineQuery,
  executeChild,
  isCancellation,
  log,
  patched,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BackupActivities } from '../activities/backup.js';
import {
  DEFAULT_DESTINATION,
  type BackupReport,
  type BackupRunInput,
  type ImagePlan,
  type ImageResult,
  type PlanResult,
} from '../src/contract/backup.js';
import { RBD_BACKUP_KIND, RBD_BACKUP_NAME, SCHEDULED_START_TIME } from '../src/contract/search-attributes.js';
import { compactUtc, imageKey, snapshotNameFor, type ImageRef } from '../src/names/names.js';
import { fitResults } from '../src/plan/payload-fit.js';
import { BATCH_SIZE, chunk } from '../src/plan/batch.js';
import { checkSpace, decideType, estimateBytes, largestFirst, weekdayOf } from '../src/plan/decision.js';
import { imageBackup } from './image-backup.js';
import { underImageMutex } from './image-mutex.js';
import { planStep, summarized } from './activity-options.js';
import { batchSummary, imageBackupSummary, imagesText, runDetails } from '../src/contract/summary.js';
import { refuseInput, withContract } from './contract.js';
import { backupRunInputSchema, imageBatchSchema } from '../src/contract/schema.js';
import { PROGRESS_QUERY, exportBytesExpected, phaseOfResult, type ImageProgress, type RunProgress } from '../src/contract/progress.js';
import { backupRunMetrics, measuredBackupRun } from './metrics.js';

/** Answered from what the run already holds (plans, results): watching a run adds no event. */
export const runProgressQuery = defineQuery<RunProgress>(PROGRESS_QUERY);

export { BATCH_SIZE } from '../src/plan/batch.js';

/** The run's own steps, each with the line the Web UI lists it under. */
const step = (summary: string) => summarized<BackupActivities>(planStep, summary);

function runTimeOf(input: BackupRunInput): Date {
  // Validated by the schema: an instant with a zone and a real calendar date.
  if (input.asOf !== undefined) return new Date(Math.floor(new Date(input.asOf).getTime() / 1000) * 1000);
  // A scheduled run acts as of its nominal time, so a late or caught-up run names its points right.
  const scheduled = workflowInfo().typedSearchAttributes.get(SCHEDULED_START_TIME);
  const t = scheduled ?? new Date();
  return new Date(Math.floor(t.getTime() / 1000) * 1000);
}

export function backupRun(input: BackupRunInput): Promise<BackupReport> {
  return withContract('backupRun', backupRunInputSchema, input, (i) => measuredBackupRun(runBackup(i)));
}

async function runBackup(input: BackupRunInput): Promise<BackupReport> {
  const info = workflowInfo();
  const runTime = runTimeOf(input);
  const backupName = input.backupName ?? compactUtc(runTime);
  const snapshot = snapshotNameFor(runTime);
  const startedAt = new Date().toISOString();
  let runPhase: RunProgress['phase'] = 'resolving';
  let reportFile: string | undefined;
  const planned: ImagePlan[] = [];
  const finished = new Map<string, ImageResult>();
  // Every image the run has heard of: skipped and not-scheduled ones first, then the plans.
  const settled: ImageResult[] = [];
  setHandler(runProgressQuery, (): RunProgress => {
    const images: ImageProgress[] = settled.map((r) => ({ pool: r.pool, image: r.image, phase: phaseOfResult(r), ...(r.reason ? { reason: r.reason } : {}) }));
    for (const p of planned) {
      const r = finished.get(imageKey(p));
      const expected = exportBytesExpected(p);
      if (!r) {
        images.push({ pool: p.pool, image: p.image, phase: 'planned', type: p.type, bytesDone: 0, bytesExpected: expected });
        continue;
      }
      const why = r.error?.message ?? r.reason;
      images.push({
        pool: p.pool,
        image: p.image,
        phase: phaseOfResult(r),
        type: p.type,
        bytesDone: r.status === 'ok' ? (r.bytes ?? expected) : 0,
        bytesExpected: r.status === 'ok' ? (r.bytes ?? expected) : expected,
        ...(r.status !== 'ok' && why ? { reason: why } : {}),
        ...(r.durationMs !== undefined ? { durationMs: r.durationMs } : {}),
      });
    }
    return { workflowId: info.workflowId, backupName, cluster: input.cluster, runTime: runTime.toISOString(), phase: runPhase, images, ...(reportFile ? { reportFile } : {}) };
  });
  upsertSearchAttributes([
    { key: RBD_BACKUP_KIND, value: 'backup-run' },
    { key: RBD_BACKUP_NAME, value: backupName },
  ]);
  const report = (status: BackupReport['status'], images: ImageResult[]): BackupReport => ({
    backupName,
    cluster: input.cluster,
    runTime: runTime.toISOString(),
    workflowId: info.workflowId,
    status,
    startedAt,
    finishedAt: new Date().toISOString(),
    images,
  });

  // The cancelled report, written although the run is being cancelled; then the run ends cancelled.
  const endCancelled = async (destination: string, results: ImageResult[]): Promise<never> => {
    runPhase = 'writing report';
    const final = report('cancelled', fitResults(results));
    backupRunMetrics(final);
    reportFile = await CancellationScope.nonCancellable(() => step(`write report of cancelled run ${backupName}`).writeReport({ destination, report: final }));
    runPhase = 'done';
    throw new CancelledFailure('backup run cancelled');
  };
  // A cancel that lands while the run plans ends with a report too: it names the images it knows
  // of, none started. Runs from before this patch ended without one, and replay that way.
  const notStarted = (s: ImageRef): ImageResult => ({ pool: s.pool, image: s.image, status: 'cancelled', reason: 'run cancelled while planning; not started' });
  const planning = async <T>(call: () => Promise<T>, destination: string, known: () => ImageResult[]): Promise<T> => {
    try {
      return await call();
    } catch (e) {
      if (isCancellation(e) && patched('report-cancel-during-planning')) {
        try {
          await endCancelled(destination, known());
        } catch (end) {
          if (isCancellation(end)) throw end;
          // The run was cancelled, and stays so, though its report could not be written (an
          // unknown destination key, a destination gone): the reason goes to the worker's log.
          log.warn('the report of the cancelled run could not be written', { error: String(end) });
        }
      }
      throw e;
    }
  };
  const skippedRow = (m: { pool: string; image: string; reason: string }): ImageResult => ({ pool: m.pool, image: m.image, status: 'skipped', reason: m.reason });

  // The worker owns the policy and the list file: a schedule follows later edits of either.
  const { policy, images, skipped: unresolved = [] } = await planning(() => step(`resolve policy and images (${imagesText(input.images)})`).resolveRun({ cluster: input.cluster, ...(input.destination ? { destination: input.destination } : {}), ...(input.images ? { images: input.images } : {}) }), input.destination ?? DEFAULT_DESTINATION, () => (input.images ?? []).map(notStarted));
  const rule = {
    weekday: weekdayOf(runTime, policy.timezone),
    fullWeekdays: policy.fullWeekdays,
    incrementalWeekdays: policy.incrementalWeekdays,
    maxIncremental: policy.maxIncremental,
  };
  // A day in neither list ends the run before it touches the cluster, unless an image is forced.
  const scheduledToday = [...rule.fullWeekdays, ...rule.incrementalWeekdays].includes(rule.weekday);
  if (!scheduledToday && !images.some((s) => s.backupType)) {
    // Names the source could not map are still said, though nothing ran (only the result differs: no command).
    const unmapped = unresolved.map(skippedRow);
    settled.push(...unmapped);
    runPhase = 'done';
    return report('nothing-scheduled', unmapped);
  }

  runPhase = 'planning';
  const plan = await planning(() => step(`plan ${imagesText(images)}`).planRun({ cluster: input.cluster, destination: policy.destination, images, backupName, snapshot, workflowId: info.workflowId }), policy.destination, () => [...unresolved.map(skippedRow), ...images.map(notStarted)]);

  // Plans recorded before the field was renamed say `missing`: runs in flight replay unchanged.
  const skipped = plan.skipped ?? (plan as { missing?: PlanResult['skipped'] }).missing ?? [];
  const results: ImageResult[] = [...unresolved, ...skipped].map(skippedRow);
  const plans: ImagePlan[] = [];
  const selections = new Map(images.map((s) => [imageKey(s), s]));
  for (const facts of plan.facts) {
    const sel = selections.get(imageKey(facts))!;
    const d = decideType(rule, sel, facts, snapshot);
    if (d.type === 'none') {
      results.push({ pool: facts.pool, image: facts.image, status: d.refused ? 'skipped' : 'not-scheduled', reason: d.reason });
      continue;
    }
    const p: ImagePlan = {
      pool: facts.pool,
      image: facts.image,
      cluster: input.cluster,
      destination: policy.destination,
      backupName,
      runTime: runTime.toISOString(),
      type: d.type,
      reason: d.reason,
      snapshot,
      circle: d.type === 'incr' ? d.circle! : snapshot,
      estimatedBytes: estimateBytes(d.type, facts),
      sizeBytes: facts.sizeBytes,
      snapshotRetainCount: sel.snapshotRetainCount ?? policy.snapshotRetainCount,
      circleRetainCount: sel.circleRetainCount ?? policy.circleRetainCount,
      exportMinBytesPerSecond: policy.exportMinBytesPerSecond,
      parentWorkflowId: info.workflowId,
    };
    if (d.type === 'incr') p.fromSnapshot = d.fromSnapshot!;
    plans.push(p);
  }
  settled.push(...results);
  if (plans.length === 0 && results.every((r) => r.status === 'not-scheduled')) {
    runPhase = 'done';
    return report('nothing-scheduled', results);
  }

  const needed = plans.reduce((s, p) => s + p.estimatedBytes, 0);
  const spaceProblem = checkSpace(needed, plan.freeBytes, policy.spaceMargin);
  if (spaceProblem) throw refuseInput(`${plan.clusterDir}: ${spaceProblem}`);

  await planning(() => step(`record cluster fsid ${plan.fsid}`).recordCluster({ cluster: input.cluster, destination: policy.destination, fsid: plan.fsid }), policy.destination, () => [...results, ...plans.map(notStarted)]);
  const ordered = largestFirst(plans);
  planned.push(...ordered);
  runPhase = 'backing up';
  // The counts the start summary could not know, then how many have finished: in memory, served
  // to the Web UI by the SDK's metadata query, no history event.
  const showDetails = () => setCurrentDetails(runDetails(backupName, ordered, [...finished.values()], runPhase));
  showDetails();
  const record = (r: ImageResult) => {
    finished.set(imageKey(r), r);
    showDetails();
  };
  if (ordered.length <= BATCH_SIZE) results.push(...(await withContract('imageBatch', imageBatchSchema, ordered, (ps) => startImages(ps, record))));
  else {
    const batches = await Promise.all(
      chunk(ordered, BATCH_SIZE).map(async (slice, i) => {
        try {
          const got = await executeChild(imageBatch, {
            args: [slice],
            workflowId: `${info.workflowId}/batch-${i}`,
            parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
            staticSummary: batchSummary(`backup run ${backupName}`, i, slice),
          });
          got.forEach(record);
          return got;
        } catch (e) {
          // A batch cancelled with the run: its images' children have cleaned up by now.
          if (!isCancellation(e)) throw e;
          return slice.map((p): ImageResult => {
            const r: ImageResult = { pool: p.pool, image: p.image, status: 'cancelled', reason: 'run cancelled' };
            record(r);
            return r;
          });
        }
      }),
    );
    results.push(...batches.flat());
  }

  if (CancellationScope.current().consideredCancelled) {
    // The children have removed their snapshots (each waits for its export to stop first); the
    // images that finished keep their points. The report says which were cancelled, then the run
    // ends cancelled, as the request asked.
    const done = new Set(results.map(imageKey));
    for (const p of ordered) if (!done.has(imageKey(p))) results.push({ pool: p.pool, image: p.image, status: 'cancelled', reason: 'run cancelled' });
    await endCancelled(policy.destination, results);
  }

  // Cleanup errors (a snapshot that would not delete) count: left alone they pile up unseen.
  const counted = results.filter((r) => r.status !== 'not-scheduled');
  const ok = counted.filter((r) => r.status === 'ok' && !r.cleanupErrors?.length).length;
  const status: BackupReport['status'] = counted.length === 0 ? 'nothing-scheduled' : ok === counted.length ? 'ok' : ok === 0 ? 'failed' : 'partial';
  const final = report(status, fitResults(results));
  runPhase = 'writing report';
  final.reportFile = await step(`write report of run ${backupName}: ${final.status}`).writeReport({ destination: policy.destination, report: final });
  reportFile = final.reportFile;
  runPhase = 'done';
  showDetails();
  return final;
}

/** Starts one imageBackup child per plan; an image whose mutex is held is reported busy. */
export function imageBatch(plans: ImagePlan[]): Promise<ImageResult[]> {
  return withContract('imageBatch', imageBatchSchema, plans, startImages);
}

async function startImages(plans: ImagePlan[], onResult: (r: ImageResult) => void = () => undefined): Promise<ImageResult[]> {
  return fitResults(await Promise.all(
    plans.map(async (p): Promise<ImageResult> => {
      const r = await imageOutcome(p);
      onResult(r);
      return r;
    }),
  ));
}

async function imageOutcome(p: ImagePlan): Promise<ImageResult> {
  const r = await underImageMutex(imageBackup, {
    cluster: p.cluster,
    image: p,
    kind: 'image-backup',
    args: [p],
    searchAttributes: [{ key: RBD_BACKUP_NAME, value: p.backupName }],
    step: 'image workflow',
    summary: imageBackupSummary(p),
  });
  if (r.ok) return r.value;
  if (r.busy) return { pool: p.pool, image: p.image, status: 'busy', reason: `${r.reason}; image not backed up by this run` };
  if (r.cancelled) return { pool: p.pool, image: p.image, status: 'cancelled', reason: 'run cancelled; its snapshot removed' };
  return { pool: p.pool, image: p.image, status: 'failed', error: r.error };
}
