import { InputError } from '../src/config/config.js';
import { imagesFromArgs } from '../src/config/image-list.js';
import { startBackupRun } from '../src/client/backup-run.js';
import { checkName } from '../src/names/names.js';
import { instantProblem } from '../src/contract/schema.js';
import type { BackupReport } from '../src/contract/backup.js';
import { EXIT_FAILED, EXIT_OK, EXIT_STILL_RUNNING, configFrom, destinationKey, errorLine, humanBytes, parseDuration, printJson, waitBounded, workflowClient } from './common.js';

export interface RunOptions {
  config?: string;
  backupName?: string;
  asOf?: string;
  destination?: string;
  wait: boolean;
  timeout?: string;
  json?: boolean;
  dryRun?: boolean;
}

/** Impossible dates (02-30) are refused, never rolled over into another day. */
export function parseAsOf(s: string): string {
  const problem = instantProblem(s);
  if (problem) throw new InputError(`--as-of ${problem}`);
  return new Date(s).toISOString();
}

export async function runCommand(images: string[], o: RunOptions): Promise<number> {
  if (o.dryRun) return (await import('./show.js')).planCommand(images, o);
  const cfg = configFrom(o);
  // No images: the worker reads its list file when the run starts, so a schedule follows edits.
  const selection = images.length ? imagesFromArgs(images) : undefined;
  const asOf = o.asOf !== undefined ? parseAsOf(o.asOf) : undefined;
  if (o.backupName !== undefined) checkName('backup', o.backupName);
  const bound = o.timeout !== undefined ? parseDuration('--timeout', o.timeout) : undefined;
  const where = destinationKey(o.destination);

  const { client, close } = await workflowClient(cfg);
  try {
    const run = await startBackupRun(client, cfg.temporal.task_queue, {
      cluster: cfg.cluster.name,
      ...(selection ? { images: selection } : {}),
      ...where,
      ...(o.backupName ? { backupName: o.backupName } : {}),
      ...(asOf ? { asOf } : {}),
    });
    if (run.resumed) process.stderr.write(`rbd-backup: resuming failed run ${run.backupName} (${run.workflowId})\n`);
    if (!o.wait) {
      if (o.json) printJson({ workflowId: run.workflowId, runId: run.runId, backupName: run.backupName, attached: run.attached, resumed: run.resumed });
      else process.stdout.write(`started ${run.workflowId} (run ${run.runId})\n`);
      return EXIT_OK;
    }
    // Bars on a terminal, phase lines elsewhere; --json keeps stdout one document. Loaded before
    // the wait starts, so a result that fails at once always has a handler.
    const show = o.json ? undefined : (await import('./progress-display.js')).showProgress;
    const waiting = waitBounded(run.result(), bound);
    const report = show ? await show(client.workflow.getHandle(run.workflowId, run.runId), waiting) : await waiting;
    if (report === undefined) {
      process.stderr.write(`rbd-backup: run ${run.workflowId} still running after ${o.timeout}; it goes on without us (run the same command again to wait for it)\n`);
      return EXIT_STILL_RUNNING;
    }
    if (o.json) printJson(report);
    else printReport(report);
    const ok = report.status === 'ok' || report.status === 'nothing-scheduled';
    if (!ok) errorLine(runSummary(report));
    return ok ? EXIT_OK : EXIT_FAILED;
  } finally {
    await close();
  }
}

export function printReport(r: BackupReport): void {
  const out: string[] = [`backup ${r.backupName} of cluster ${r.cluster} as of ${r.runTime}: ${r.status}`];
  for (const i of r.images) {
    const what = i.status === 'ok' ? `${i.type} ${i.file} ${humanBytes(i.bytes)} sha256=${i.sha256}` : i.error?.message ?? i.reason ?? '';
    out.push(`  ${i.pool}/${i.image}: ${i.status} ${what}`);
    if (i.error?.stderr) out.push(`    rbd stderr: ${i.error.stderr.trim().split('\n').join('\n    ')}`);
    // Cleanup problems (a snapshot that would not delete) pile up unseen unless they are printed.
    for (const c of i.cleanupErrors ?? []) {
      out.push(`    cleanup: ${c.message}`);
      if (c.stderr) out.push(`      rbd stderr: ${c.stderr.trim().split('\n').join('\n      ')}`);
    }
  }
  if (r.reportFile) out.push(`report: ${r.reportFile}`);
  process.stdout.write(out.join('\n') + '\n');
}

/** The stderr line of a run that exits 1: which images did not make it, and the first reason. */
export function runSummary(r: BackupReport): string {
  const bad = r.images.filter((i) => i.status !== 'ok' && i.status !== 'not-scheduled');
  const cleanup = r.images.filter((i) => i.status === 'ok' && i.cleanupErrors?.length);
  const first = bad[0] ?? cleanup[0];
  const why = first ? `; first: ${first.pool}/${first.image} ${first.status === 'ok' ? 'cleanup' : first.status}: ${first.error?.message ?? first.reason ?? first.cleanupErrors?.[0]?.message ?? ''}` : '';
  return `backup ${r.backupName} ${r.status}: ${bad.length} image(s) not backed up, ${cleanup.length} with cleanup errors${why}`;
}
