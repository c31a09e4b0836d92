/**
 * Where workflows record rbd-backup's metrics (src/metrics/metrics.ts): each workflow hands its
 * result here in one call. The workflow `metricMeter` goes through a sink, so recording issues no
 * command (nothing for replay to compare) and emits nothing while a history is replayed.
 */
import { isCancellation, metricMeter } from '@temporalio/workflow';
import type { BackupReport, ImageResult } from '../src/contract/backup.js';
import type { RestoreResult, VerifyReport } from '../src/contract/restore.js';
import { recordBackupRun, recordBackupRunError, recordImageBackup, recordRestore, recordVerify } from '../src/metrics/metrics.js';

/** Metrics must never fail a run: a bad value is dropped, not thrown into the workflow. */
function safely(record: () => void): void {
  try {
    record();
  } catch {
    // nothing to do: the run's result stands without its metric
  }
}

export function imageBackupMetrics(r: ImageResult): void {
  safely(() => recordImageBackup(metricMeter, r));
}

/** A run's report, when it has one (the cancelled path writes one too). */
export function backupRunMetrics(report: Pick<BackupReport, 'status' | 'images'>): void {
  safely(() => recordBackupRun(metricMeter, report));
}

/**
 * Wraps the whole run: its report is counted when it returns; a run that throws without a report
 * (refused, broken) counts as `error`. A cancelled run counts its own report (see backupRun).
 */
export async function measuredBackupRun(run: Promise<BackupReport>): Promise<BackupReport> {
  try {
    const report = await run;
    backupRunMetrics(report);
    return report;
  } catch (e) {
    if (!isCancellation(e)) safely(() => recordBackupRunError(metricMeter));
    throw e;
  }
}

export async function measuredRestore(target: { pool: string }, restore: Promise<RestoreResult>): Promise<RestoreResult> {
  try {
    const r = await restore;
    safely(() => recordRestore(metricMeter, target, 'ok', r));
    return r;
  } catch (e) {
    safely(() => recordRestore(metricMeter, target, isCancellation(e) ? 'cancelled' : 'failed'));
    throw e;
  }
}

export function verifyMetrics(report: VerifyReport): void {
  safely(() => recordVerify(metricMeter, report));
}
