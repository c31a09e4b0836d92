/**
 * `show cluster | config | images`: what rbd-backup sees, touching nothing. `images` is the same
 * plan as `run --dry-run`. The CLI still needs neither Ceph nor the keyring: the worker answers
 * what only it can read (the cluster, the catalogs).
 */
import { InputError } from '../src/config/config.js';
import { readConfigFile } from '../src/config/config-file.js';
import { effectiveKeys } from '../src/config/effective.js';
import { imagesFromArgs } from '../src/config/image-list.js';
import { describeCluster, planBackupRun } from '../src/client/inspect.js';
import type { BackupPlan, ImagePreview } from '../src/contract/plan.js';
import { checkName } from '../src/names/names.js';
import { DEFAULT_CONFIG, EXIT_BAD_INPUT, EXIT_OK, configFrom, destinationKey, errorLine, humanBytes, printJson, workflowClient } from './common.js';
import { parseAsOf } from './run.js';

export interface PlanOptions {
  config?: string;
  destination?: string;
  asOf?: string;
  backupName?: string;
  json?: boolean;
}

/** `run --dry-run` and `show images`: the plan, printed; exit 2 when the run would be refused. */
export async function planCommand(images: string[], o: PlanOptions): Promise<number> {
  const cfg = configFrom(o);
  const selection = images.length ? imagesFromArgs(images) : undefined;
  const asOf = o.asOf !== undefined ? parseAsOf(o.asOf) : undefined;
  if (o.backupName !== undefined) checkName('backup', o.backupName);
  const where = destinationKey(o.destination);
  const { client, close } = await workflowClient(cfg);
  try {
    const plan = await planBackupRun(client, cfg.temporal.task_queue, {
      cluster: cfg.cluster.name,
      ...(selection ? { images: selection } : {}),
      ...where,
      ...(o.backupName ? { backupName: o.backupName } : {}),
      ...(asOf ? { asOf } : {}),
    });
    if (o.json) printJson(plan);
    else process.stdout.write(formatPlan(plan).join('\n') + '\n');
    if (plan.outcome === 'refused') {
      errorLine(`the run would be refused: ${plan.refusal}`);
      return EXIT_BAD_INPUT;
    }
    return EXIT_OK;
  } finally {
    await close();
  }
}

export const showImagesCommand = planCommand;

function describeImage(i: ImagePreview): string {
  const what =
    i.action === 'incr' ? `incr from ${i.fromSnapshot} in circle ${i.circle}` : i.action === 'full' ? `full, new circle ${i.circle}` : i.action;
  const size = i.estimatedBytes !== undefined ? ` (~${humanBytes(i.estimatedBytes)} to write, image ${humanBytes(i.sizeBytes)})` : '';
  return `  ${i.pool}/${i.image}: ${what}${size}: ${i.reason}`;
}

export function formatPlan(p: BackupPlan): string[] {
  const out = [`dry run: backup ${p.backupName} of cluster ${p.cluster} to destination ${p.destination} as of ${p.runTime} (weekday ${p.weekday} in ${p.timezone}): ${p.outcome}`];
  out.push(...p.images.map(describeImage));
  if (p.space) {
    out.push(`space: about ${humanBytes(p.space.neededBytes)} needed, ${humanBytes(p.space.freeBytes)} free (limit ${Math.round(p.space.margin * 100)}%)${p.space.problem ? `: ${p.space.problem}` : ''}`);
  }
  out.push('nothing was done: no snapshot taken, no file written');
  return out;
}

export async function showClusterCommand(o: { config?: string; destination?: string; json?: boolean }): Promise<number> {
  const cfg = configFrom(o);
  const where = destinationKey(o.destination);
  const { client, close } = await workflowClient(cfg);
  try {
    const facts = await describeCluster(client, cfg.temporal.task_queue, { cluster: cfg.cluster.name, ...where });
    if (o.json) {
      printJson(facts);
      return EXIT_OK;
    }
    const out = [`cluster ${facts.name}: fsid ${facts.fsid}`, '  monitors:', ...facts.monitors.map((m) => `    ${m.name} ${m.addrs.join(' ')}`), `  pools: ${facts.pools.join(', ') || '(none)'}`];
    if (!facts.identity) out.push(`  ${facts.identityFile}: not there yet (written by the first backup run)`);
    else {
      const id = facts.identity;
      const verdict = facts.identityMatches ? 'matches this cluster' : 'DOES NOT MATCH this cluster: backup runs to this destination are refused';
      out.push(`  ${facts.identityFile}: cluster ${id.name}, fsid ${id.fsid}${id.createdAt ? `, recorded ${id.createdAt}` : ''}; ${verdict}`);
    }
    process.stdout.write(out.join('\n') + '\n');
    return EXIT_OK;
  } finally {
    await close();
  }
}

export async function showConfigCommand(o: { config?: string; json?: boolean }): Promise<number> {
  const file = o.config ?? process.env.RBD_BACKUP_CONFIG ?? DEFAULT_CONFIG;
  if (!file) throw new InputError('--config FILE is empty');
  const loaded = readConfigFile(file);
  const keys = effectiveKeys(loaded.config, loaded.sources);
  for (const w of loaded.warnings) process.stderr.write(`rbd-backup: warning: ${w}\n`);
  if (o.json) {
    printJson({ file, format: loaded.format, warnings: loaded.warnings, keys });
    return EXIT_OK;
  }
  const width = Math.max(...keys.map((k) => k.key.length));
  const out = [`config ${file} (${loaded.format})`];
  for (const k of keys) out.push(`  ${k.key.padEnd(width)}  ${JSON.stringify(k.value)}  # ${k.source}`);
  process.stdout.write(out.join('\n') + '\n');
  return EXIT_OK;
}
