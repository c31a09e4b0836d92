import { z } from 'zod';
import { checkName, NameError, parseImageSpec, imageKey } from '../names/names.js';
import type { ImageSelection } from '../contract/backup.js';
import { InputError, formatIssue, parseYamlFile } from './config.js';


const entrySchema = z
  .object({
    name: z.string(),
    backup_type: z.enum(['full', 'incr']).optional(),
    max_incremental_backup_count: z.number().int().min(0).optional(),
    max_backup_circle_count: z.number().int().min(1).optional(),
    backup_snapshot_retain_count: z.number().int().min(1).optional(),
  })
  .strict();

const listSchema = z.record(z.string(), z.array(z.record(z.string(), z.array(entrySchema))));

export type { ImageSelection };

/** The original tool's list format, so its users can bring their files. */
export function loadImageList(file: string, clusterName: string): ImageSelection[] {
  const raw = parseYamlFile(file);
  const parsed = listSchema.safeParse(raw);
  if (!parsed.success) throw new InputError(formatIssue(file, parsed.error.issues[0]!));
  const pools = parsed.data[clusterName];
  if (!pools) {
    throw new InputError(`${file}: no top-level key ${JSON.stringify(clusterName)} (the cluster name in the config)`);
  }
  const out: ImageSelection[] = [];
  pools.forEach((poolMap, i) => {
    for (const [pool, entries] of Object.entries(poolMap)) {
      entries.forEach((e, j) => {
        const where = `${file}: ${clusterName}[${i}].${pool}[${j}].name`;
        try {
          checkName('pool', pool);
          checkName('image', e.name);
        } catch (err) {
          throw new InputError(`${where}: ${(err as Error).message}`);
        }
        const sel: ImageSelection = { pool, image: e.name };
        if (e.backup_type) sel.backupType = e.backup_type;
        if (e.max_incremental_backup_count !== undefined) sel.maxIncremental = e.max_incremental_backup_count;
        if (e.max_backup_circle_count !== undefined) sel.circleRetainCount = e.max_backup_circle_count;
        if (e.backup_snapshot_retain_count !== undefined) sel.snapshotRetainCount = e.backup_snapshot_retain_count;
        out.push(sel);
      });
    }
  });
  return dedupe(out, file);
}

export function imagesFromArgs(specs: string[]): ImageSelection[] {
  const out: ImageSelection[] = [];
  for (const s of specs) {
    try {
      out.push(parseImageSpec(s));
    } catch (e) {
      if (e instanceof NameError) throw new InputError(e.message);
      throw e;
    }
  }
  return dedupe(out, 'command line');
}

function dedupe(list: ImageSelection[], where: string): ImageSelection[] {
  const seen = new Set<string>();
  for (const s of list) {
    const k = imageKey(s);
    if (seen.has(k)) throw new InputError(`${where}: image ${k} is listed twice`);
    seen.add(k);
  }
  return list;
}
