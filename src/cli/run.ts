import { Client } from '@temporalio/client';
import { checkClusterFiles, InputError } from '../config/config.js';
import { imagesFromArgs, loadImageList } from '../config/image-list.js';
import { connect, policyOf, startBackupRun } from '../client/connection.js';
import { checkName } from '../names/names.js';
import type { BackupReport } from '../contract/backup.js';
import { EXIT_FAILED, EXIT_OK, configFrom, humanBytes, printJson } from './common.js';

export interface RunOptions {
  config?: string;
  backupName?: string;
  asOf?: string;
  wait: boolean;
  json?: boolean;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

export function parseAsOf(s: string): string {
  if (!ISO.test(s) || Number.isNaN(Date.parse(s))) throw new InputError(`--as-of ${JSON.stringify(s)} is not an ISO 8601 instant with a zone, e.g. 2026-11-29T01:00:00Z`);
  return new Date(s).toISOString();
}

export async function runCommand(images: string[], o: RunOptions): Promise<number> {
  const cfg = configFrom(o);
  const selection = images.length
    ? imagesFromArgs(images)
    : cfg.backup.list_file
      ? loadImageList(cfg.backup.list_file, cfg.cluster.name)
      : (() => {
          throw new InputError('no images: give POOL/IMAGE arguments or set backup.list_file');
        })();
  if (selection.length === 0) throw new InputError('the image list is empty');
  checkClusterFiles(cfg);
  const asOf = o.asOf !== undefined ? parseAsOf(o.asOf) : undefined;
  if (o.backupName !== undefined) checkName('backup', o.backupName);

  const connection = await connect(cfg.temporal.address);
  try {
    const client = new Client({ connection, namespace: cfg.temporal.namespace });
    const run = await startBackupRun(client, cfg.temporal.task_queue, {
      cluster: cfg.cluster.name,
      policy: policyOf(cfg),
      images: selection,
      ...(o.backupName ? { backupName: o.backupName } : {}),
      ...(asOf ? { asOf } : {}),
    });
    if (!o.wait) {
      if (o.json) printJson({ workflowId: run.workflowId, runId: run.runId });
      else process.stdout.write(`started ${run.workflowId} (run ${run.runId})\n`);
      return EXIT_OK;
    }
    const report = await run.result();
    if (o.json) printJson(report);
    else printReport(report);
    return report.status === 'ok' || report.status === 'nothing-scheduled' ? EXIT_OK : EXIT_FAILED;
  } finally {
    await connection.close();
  }
}

export function printReport(r: BackupReport): void {
  const out: string[] = [`backup ${r.backupName} of cluster ${r.cluster} as of ${r.runTime}: ${r.status}`];
  for (const i of r.images) {
    const what = i.status === 'ok' ? `${i.type} ${i.file} ${humanBytes(i.bytes)} sha256=${i.sha256}` : i.error?.message ?? i.reason ?? '';
    out.push(`  ${i.pool}/${i.image}: ${i.status} ${what}`);
    if (i.error?.stderr) out.push(`    rbd stderr: ${i.error.stderr.trim().split('\n').join('\n    ')}`);
  }
  if (r.reportFile) out.push(`report: ${r.reportFile}`);
  process.stdout.write(out.join('\n') + '\n');
}
