import { RBD_BACKUP_KIND } from '../src/contract/search-attributes.js';
import type { VerifyReport } from '../src/contract/restore.js';
import { verifySummary as verifyRunSummary } from '../src/contract/summary.js';
import { EXIT_FAILED, EXIT_OK, configFrom, errorLine, printJson, workflowClient } from './common.js';
import { parseImageSpec } from '../src/names/names.js';
import { InputError } from '../src/config/config.js';
import { fromClusterOption, fromOption } from './source.js';

export interface VerifyOptions {
  config?: string;
  destination?: string;
  /** A destination key, or a configured destination's directory. */
  from?: string;
  /** The cluster name the backups are filed under (another cluster's: a read-only check). */
  fromCluster?: string;
  deep?: boolean;
  json?: boolean;
}

export async function verifyCommand(image: string | undefined, o: VerifyOptions): Promise<number> {
  const cfg = configFrom(o);
  const images = image ? [parseImageSpec(image)] : undefined;
  const where = { ...fromOption(cfg, o), ...fromClusterOption(o.fromCluster) };
  if (o.deep && where.fromCluster !== undefined) {
    throw new InputError(`--deep with --from-cluster ${where.fromCluster}: a deep check compares a restore with the source image's snapshots, which are on that cluster, not this one; verify without --deep, or restore a point with restore --from-cluster and check it`);
  }
  const { client, close } = await workflowClient(cfg);
  let report: VerifyReport;
  try {
    const h = await client.workflow.start('verifyRun', {
      taskQueue: cfg.temporal.task_queue,
      workflowId: `rbd-backup-verify/${cfg.cluster.name}/${new Date().toISOString()}`,
      args: [{ cluster: cfg.cluster.name, ...where, deep: !!o.deep, ...(images ? { images } : {}) }],
      typedSearchAttributes: [{ key: RBD_BACKUP_KIND, value: 'verify-run' }],
      staticSummary: verifyRunSummary(images, !!o.deep),
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

