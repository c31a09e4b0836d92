/**
 * rbd-backup's own Prometheus metrics: their names, kinds, labels and meaning in one table (which
 * docs/metrics.md documents and a unit test holds the two together), and the functions that
 * record a finished step's result on a Temporal MetricMeter.
 *
 * They are recorded from workflow code through the workflow's `metricMeter`: it emits nothing
 * while a history is replayed, so a worker restart or a cache eviction never counts a run twice,
 * and the values come from the results the history records (the last-success gauge is also seeded
 * from the catalogs when the worker starts, worker/metrics.ts). The worker serves them beside the
 * SDK's own metrics on one endpoint (worker/metrics.ts). Labels are pool, image, type and
 * outcomes: never a run, a snapshot or a workflow ID, which would make a new series every run.
 */
import type { MetricMeter, MetricTags } from '@temporalio/common';
import type { ImageCatalog } from '../catalog/catalog.js';
import type { BackupReport, ImageResult } from '../contract/backup.js';
import type { ImageVerification, RestoreResult, VerifyReport } from '../contract/restore.js';

export type MetricKind = 'counter' | 'histogram' | 'gauge';

export interface MetricDef {
  name: string;
  kind: MetricKind;
  /** Our labels; the SDK adds namespace, taskQueue and workflowType. */
  labels: readonly string[];
  unit: string;
  help: string;
}

/** Export and restore durations: from seconds (a small incremental) to a day (a large full). */
export const DURATION_BUCKETS_SECONDS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800, 86400];

export const METRICS = {
  exportedBytes: {
    name: 'rbd_backup_exported_bytes_total',
    kind: 'counter',
    labels: ['pool', 'image', 'type'],
    unit: 'By',
    help: 'Bytes written to the backup destination by exports (the stored file sizes), by image and type (full, incr).',
  },
  exportDuration: {
    name: 'rbd_backup_export_duration_seconds',
    kind: 'histogram',
    labels: ['pool', 'type'],
    unit: 's',
    help: 'Duration of each successful export: rbd export or export-diff, checksum, rename and catalog write.',
  },
  lastSuccess: {
    name: 'rbd_backup_last_success_timestamp_seconds',
    kind: 'gauge',
    labels: ['pool', 'image'],
    unit: 's',
    help: 'Unix time at which the newest successful export of the image finished (its point was recorded).',
  },
  images: {
    name: 'rbd_backup_images_total',
    kind: 'counter',
    labels: ['pool', 'image', 'outcome'],
    unit: '1',
    help: 'Images of finished backup runs by outcome: ok, failed, busy, skipped, not-scheduled, cancelled.',
  },
  runs: {
    name: 'rbd_backup_runs_total',
    kind: 'counter',
    labels: ['status'],
    unit: '1',
    help: 'Finished backup runs by status: ok, partial, failed, nothing-scheduled, cancelled, error (the run itself failed).',
  },
  snapshotsDeleted: {
    name: 'rbd_backup_snapshots_deleted_total',
    kind: 'counter',
    labels: ['pool', 'image'],
    unit: '1',
    help: 'RBD snapshots deleted by snapshot retention.',
  },
  circlesPruned: {
    name: 'rbd_backup_circles_pruned_total',
    kind: 'counter',
    labels: ['pool', 'image'],
    unit: '1',
    help: 'Backup circles (a full and its diffs) removed from the destination by circle retention.',
  },
  cleanupErrors: {
    name: 'rbd_backup_cleanup_errors_total',
    kind: 'counter',
    labels: ['pool', 'image'],
    unit: '1',
    help: 'Snapshot deletions or circle prunings that failed (they make a run partial).',
  },
  restoreDuration: {
    name: 'rbd_backup_restore_duration_seconds',
    kind: 'histogram',
    labels: ['pool'],
    unit: 's',
    help: 'Duration of each successful restore (plan, import of the full and each diff, finish), by target pool.',
  },
  restores: {
    name: 'rbd_backup_restores_total',
    kind: 'counter',
    labels: ['pool', 'outcome'],
    unit: '1',
    help: 'Finished restores by target pool and outcome: ok, failed, cancelled.',
  },
  verifyProblems: {
    name: 'rbd_backup_verify_problems_total',
    kind: 'counter',
    labels: ['pool', 'image'],
    unit: '1',
    help: 'Problems found by verify: missing, corrupt or extra files, chain problems, a failed deep comparison or an image that could not be checked.',
  },
  verifiedImages: {
    name: 'rbd_backup_verified_images_total',
    kind: 'counter',
    labels: ['outcome'],
    unit: '1',
    help: 'Images checked by verify runs, by outcome: clean, problem.',
  },
} as const satisfies Record<string, MetricDef>;

const seconds = (ms: number) => ms / 1000;

function counter(meter: MetricMeter, def: MetricDef, value: number, tags: MetricTags): void {
  if (value > 0) meter.createCounter(def.name, def.unit, def.help).add(value, tags);
}

/** One image's step of a backup run, as its imageBackup workflow returns it. */
export function recordImageBackup(meter: MetricMeter, r: ImageResult): void {
  const where = { pool: r.pool, image: r.image };
  if (r.status === 'ok' && r.finishedAt) {
    const finished = Date.parse(r.finishedAt);
    // A retried export that finds its point already recorded reports the point's own time as
    // start and finish: it wrote nothing, and the attempt that did was counted then.
    const exported = r.startedAt !== undefined && r.startedAt !== r.finishedAt;
    if (exported && r.bytes !== undefined && r.type) {
      counter(meter, METRICS.exportedBytes, r.bytes, { ...where, type: r.type });
      meter
        .createHistogram(METRICS.exportDuration.name, 'float', METRICS.exportDuration.unit, METRICS.exportDuration.help)
        .record(seconds(finished - Date.parse(r.startedAt!)), { pool: r.pool, type: r.type });
    }
    recordLastSuccess(meter, where, seconds(finished));
  }
  counter(meter, METRICS.snapshotsDeleted, r.deletedSnapshots?.length ?? 0, where);
  counter(meter, METRICS.circlesPruned, r.prunedCircles?.length ?? 0, where);
  counter(meter, METRICS.cleanupErrors, r.cleanupErrors?.length ?? 0, where);
}

export function recordLastSuccess(meter: MetricMeter, where: { pool: string; image: string }, unixSeconds: number): void {
  meter.createGauge(METRICS.lastSuccess.name, 'float', METRICS.lastSuccess.unit, METRICS.lastSuccess.help).set(unixSeconds, where);
}

/**
 * The gauge's value for an image as its catalog records it: the newest point's `exportedAt`, in
 * Unix seconds (the time an export's result reports as `finishedAt`); undefined without points.
 */
export function lastSuccessOf(c: Pick<ImageCatalog, 'circles'>): number | undefined {
  let newest: number | undefined;
  for (const circle of c.circles) {
    for (const p of circle.points) {
      const t = Date.parse(p.exportedAt);
      if (!Number.isNaN(t) && (newest === undefined || t > newest)) newest = t;
    }
  }
  return newest === undefined ? undefined : seconds(newest);
}

/** A backup run that finished with a report (also the report of a cancelled run). */
export function recordBackupRun(meter: MetricMeter, report: Pick<BackupReport, 'status' | 'images'>): void {
  counter(meter, METRICS.runs, 1, { status: report.status });
  for (const r of report.images) counter(meter, METRICS.images, 1, { pool: r.pool, image: r.image, outcome: r.status });
}

/** A backup run that ended without a report: refused (no space, bad input) or broken. */
export function recordBackupRunError(meter: MetricMeter): void {
  counter(meter, METRICS.runs, 1, { status: 'error' });
}

export function recordRestore(meter: MetricMeter, target: { pool: string }, outcome: 'ok' | 'failed' | 'cancelled', result?: Pick<RestoreResult, 'durationMs'>): void {
  counter(meter, METRICS.restores, 1, { pool: target.pool, outcome });
  if (result) {
    meter
      .createHistogram(METRICS.restoreDuration.name, 'float', METRICS.restoreDuration.unit, METRICS.restoreDuration.help)
      .record(seconds(result.durationMs), { pool: target.pool });
  }
}

/**
 * How many distinct problems verify found for one image (0 for a clean one). Unrestorable points
 * are not counted: they follow from the broken files already counted.
 */
export function verifyProblemCount(v: ImageVerification): number {
  let n = v.files.filter((f) => f.status !== 'ok').length + v.chainProblems.length;
  if (v.deep && (v.deep.match === false || v.deep.error !== undefined)) n++;
  if (v.error !== undefined) n++;
  // Not ok with nothing itemised (e.g. an explicitly named image without backups): still one.
  return n === 0 && !v.ok ? 1 : n;
}

export function recordVerify(meter: MetricMeter, report: VerifyReport): void {
  counter(meter, METRICS.verifiedImages, report.clean, { outcome: 'clean' });
  counter(meter, METRICS.verifiedImages, report.checked - report.clean, { outcome: 'problem' });
  for (const v of report.images) counter(meter, METRICS.verifyProblems, verifyProblemCount(v), { pool: v.pool, image: v.image });
}
