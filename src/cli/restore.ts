import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/client';
import { InputError } from '../config/config.js';
import { imageKey, NameError, parseImageSpec, type ImageRef } from '../names/names.js';
import { instantProblem } from '../contract/schema.js';
import { imageWorkflowId } from '../contract/backup.js';
import { RBD_BACKUP_IMAGES, RBD_BACKUP_KIND } from '../contract/search-attributes.js';
import type { DeleteResult, RestoreInput, RestoreResult, VerifyReport } from '../contract/restore.js';
import type { Config } from '../config/config.js';
import { BusyError, EXIT_FAILED, EXIT_OK, configFrom, destinationKey, errorLine, printJson, workflowClient } from './common.js';

/** Starts a workflow under an image's mutex ID and waits; a held mutex is a clear refusal. */
export async function underImageMutex<T>(cfg: Config, image: { pool: string; image: string }, kind: string, workflowType: string, arg: unknown): Promise<T> {
  const { client, close } = await workflowClient(cfg);
  try {
    const workflowId = imageWorkflowId(cfg.cluster.name, image);
    try {
      const h = await client.workflow.start(workflowType, {
        taskQueue: cfg.temporal.task_queue,
        workflowId,
        args: [arg],
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        typedSearchAttributes: [
          { key: RBD_BACKUP_KIND, value: kind },
          { key: RBD_BACKUP_IMAGES, value: [imageKey(image)] },
        ],
      });
      return (await h.result()) as T;
    } catch (e) {
      if (e instanceof WorkflowExecutionAlreadyStartedError) throw new BusyError(`${imageKey(image)} is busy: ${workflowId} is running (a backup, restore, verify or delete); try again later`);
      throw e;
    }
  } finally {
    await close();
  }
}

/**
 * `--at` with a ':' can only be an instant (names cannot hold one), and then it must be a real
 * one: Date.parse would roll 2026-02-30 over to March and read a zone-less time in the worker's
 * zone, restoring a point nobody asked for.
 */
export function checkAt(at: string): void {
  if (!at.includes(':')) return;
  const problem = instantProblem(at);
  if (problem) throw new InputError(`--at ${problem}`);
}

/** Which option a bad image name came from, so the culprit is the first thing read. */
function imageOption(option: string, spec: string): ImageRef {
  try {
    return parseImageSpec(spec);
  } catch (e) {
    if (e instanceof NameError) throw new InputError(`${option} ${e.message}`);
    throw e;
  }
}

export interface RestoreOptions {
  config?: string;
  destination?: string;
  at?: string;
  to?: string;
  force?: boolean;
  keepSnapshots?: boolean;
  json?: boolean;
}

export async function restoreCommand(image: string, o: RestoreOptions): Promise<number> {
  const cfg = configFrom(o);
  const source = parseImageSpec(image);
  if (!o.at) throw new InputError('--at POINT is required (a backup name, a snapshot name or an ISO 8601 instant)');
  checkAt(o.at);
  const input: RestoreInput = {
    cluster: cfg.cluster.name,
    ...destinationKey(o.destination),
    source,
    at: o.at,
    force: !!o.force,
    keepSnapshots: !!o.keepSnapshots,
  };
  // An empty --to is a mistake, not "the default target".
  if (o.to !== undefined) {
    input.target = imageOption('--to', o.to);
    if (imageKey(input.target) === imageKey(source)) {
      throw new InputError(`--to ${o.to} is the source image itself${o.force ? ', even with --force' : ''}: restore beside it, check, then rename`);
    }
  }
  const r = await underImageMutex<RestoreResult>(cfg, source, 'restore', 'restoreImage', input);
  if (o.json) printJson(r);
  else
    process.stdout.write(
      `restored ${imageKey(r.source)} at ${r.point.backupName} (${r.point.snapshot}) to ${imageKey(r.target)}\n` +
        `  applied: ${r.applied.join(', ')}\n  sha256 of restored image: ${r.sha256}\n`,
    );
  return EXIT_OK;
}

export async function verifyCommand(image: string | undefined, o: { config?: string; destination?: string; deep?: boolean; json?: boolean }): Promise<number> {
  const cfg = configFrom(o);
  const images = image ? [parseImageSpec(image)] : undefined;
  const where = destinationKey(o.destination);
  const { client, close } = await workflowClient(cfg);
  let report: VerifyReport;
  try {
    const h = await client.workflow.start('verifyRun', {
      taskQueue: cfg.temporal.task_queue,
      workflowId: `rbd-backup-verify/${cfg.cluster.name}/${new Date().toISOString()}`,
      args: [{ cluster: cfg.cluster.name, ...where, deep: !!o.deep, ...(images ? { images } : {}) }],
      typedSearchAttributes: [{ key: RBD_BACKUP_KIND, value: 'verify-run' }],
    });
    report = (await h.result()) as VerifyReport;
  } finally {
    await close();
  }
  if (o.json) printJson(report);
  else {
    const out: string[] = [];
    for (const v of report.images) {
      out.push(`${v.pool}/${v.image}: ${v.ok ? 'ok' : 'PROBLEMS'}${v.error ? ` (${v.error})` : ''}`);
      for (const f of v.files.filter((x) => x.status !== 'ok')) out.push(`  ${f.status}: ${f.file}${f.detail ? ` (${f.detail})` : ''}`);
      for (const p of v.chainProblems) out.push(`  chain: ${p}`);
      for (const p of v.unrestorable) out.push(`  unrestorable: ${p.backupName} (${p.snapshot})`);
      if (v.deep) out.push(`  deep: ${v.deep.error ?? v.deep.note ?? (v.deep.match ? `restored ${v.deep.point} matches its snapshot` : `restored ${v.deep.point} DIFFERS from its snapshot`)}`);
    }
    for (const d of report.deep ?? []) out.push(`${d.pool}/${d.image}: ok, deep: ${d.note ?? `restored ${d.point} matches its snapshot`}`);
    out.push(report.checked ? `${report.checked} image(s) verified: ${report.clean} clean, ${report.checked - report.clean} with problems` : 'nothing to verify');
    process.stdout.write(out.join('\n') + '\n');
  }
  if (!report.ok) errorLine(verifySummary(report));
  return report.ok ? EXIT_OK : EXIT_FAILED;
}

export async function deleteCommand(image: string, o: { config?: string; destination?: string; circle?: string; point?: string; json?: boolean }): Promise<number> {
  const cfg = configFrom(o);
  const ref = parseImageSpec(image);
  if ((o.circle === undefined) === (o.point === undefined)) {
    throw new InputError(`give exactly one of --circle NAME or --point NAME (${o.circle === undefined ? 'neither was given' : 'both were given'})`);
  }
  const r = await underImageMutex<DeleteResult>(cfg, ref, 'delete', 'deleteBackup', {
    cluster: cfg.cluster.name,
    ...destinationKey(o.destination),
    image: ref,
    ...(o.circle !== undefined ? { circle: o.circle } : { point: o.point }),
  });
  if (o.json) printJson(r);
  else process.stdout.write(`deleted from ${imageKey(ref)} circle ${r.removed.circle}: ${r.removed.files.join(', ') || 'nothing'}\n`);
  return EXIT_OK;
}

/**
 * The stderr line of a verify that found problems: stdout has the report, but a script or a
 * mail from cron reads stderr first.
 */
export function verifySummary(r: VerifyReport): string {
  const bad = r.checked - r.clean;
  const first = r.images.find((v) => !v.ok);
  let why = '';
  if (first) {
    const f = first.files.find((x) => x.status !== 'ok');
    why = first.error ?? (f ? `${f.status}: ${f.file}${f.detail ? ` (${f.detail})` : ''}` : first.chainProblems[0] ?? first.deep?.error ?? 'problems');
    why = `; first: ${first.pool}/${first.image}: ${why}`;
  }
  return `verify found problems in ${bad} of ${r.checked} image(s)${why}`;
}
