import { Client } from '@temporalio/client';
import { connect } from '../src/client/connection.js';
import { parseImageSpec, imageKey } from '../src/names/names.js';
import { RBD_BACKUP_KIND } from '../src/contract/search-attributes.js';
import type { RebuildSummary } from '../src/catalog/rebuild.js';
import { rebuildSummary } from '../src/contract/summary.js';
import { EXIT_FAILED, EXIT_OK, configFrom, printJson } from './common.js';
import { underImageMutex } from './image-mutex.js';

interface RebuildOptions {
  config?: string;
  destination?: string;
  replace?: boolean;
  json?: boolean;
}

interface RebuildAllResult {
  rebuilt: RebuildSummary[];
  failed: { pool: string; image: string; error: string }[];
}

/** `catalog rebuild [POOL/IMAGE]`: the worker rebuilds catalog.json from the circle directories. */
export async function catalogRebuildCommand(image: string | undefined, o: RebuildOptions): Promise<number> {
  const cfg = configFrom(o);
  const where = { cluster: cfg.cluster.name, ...(o.destination ? { destination: o.destination } : {}) };
  let result: RebuildAllResult;
  if (image) {
    const ref = parseImageSpec(image);
    const summary = await underImageMutex<RebuildSummary>(cfg, ref, 'catalog-rebuild', 'rebuildCatalog', { ...where, image: ref, replace: !!o.replace }, rebuildSummary(ref));
    result = { rebuilt: [summary], failed: [] };
  } else {
    const connection = await connect(cfg.temporal.address);
    try {
      const client = new Client({ connection, namespace: cfg.temporal.namespace });
      const h = await client.workflow.start('rebuildCatalogs', {
        taskQueue: cfg.temporal.task_queue,
        workflowId: `rbd-backup-catalog-rebuild/${cfg.cluster.name}/${new Date().toISOString()}`,
        args: [where],
        typedSearchAttributes: [{ key: RBD_BACKUP_KIND, value: 'catalog-rebuild-all' }],
        staticSummary: rebuildSummary(undefined),
      });
      result = (await h.result()) as RebuildAllResult;
    } finally {
      await connection.close();
    }
  }
  if (o.json) printJson(result);
  else {
    const out: string[] = [];
    for (const s of result.rebuilt) {
      out.push(`${imageKey(s)}: catalog ${s.before}, rebuilt with ${s.circles.length} circle(s), ${s.points} point(s): ${s.catalogFile}`);
      for (const c of s.circles) {
        out.push(`  circle ${c.name}: ${c.points} point(s) from the ${c.from === 'manifest' ? 'manifest' : 'files (sha256 recomputed)'}`);
        for (const p of c.problems) out.push(`    left out: ${p}`);
      }
      for (const p of s.problems) out.push(`  left out: ${p}`);
    }
    for (const f of result.failed) out.push(`${f.pool}/${f.image}: FAILED: ${f.error}`);
    if (!result.rebuilt.length && !result.failed.length) out.push('every catalog reads fine: nothing to rebuild');
    process.stdout.write(out.join('\n') + '\n');
  }
  return result.failed.length ? EXIT_FAILED : EXIT_OK;
}
