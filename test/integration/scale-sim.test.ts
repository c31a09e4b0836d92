/**
 * Scale SIMULATION: the real workflows on the real dev server, over 2,000 images whose activities
 * are fast in-memory FAKES (no Ceph). It measures what matters for Temporal's limits: the largest
 * history any workflow of the run reaches (limit 51,200 events; warning at 10,240).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { pino } from 'pino';
import { temporal } from '../harness/env.js';
import { createWorkerSet, installRuntimeLogger } from '../../worker/worker.js';
import { configSchema, policyOf, type Config } from '../../src/config/config.js';
import type { Activities } from '../../activities/index.js';
import type { BackupActivities, PlanInput } from '../../activities/backup.js';
import type { BackupReport, BackupRunInput, ImagePlan, PlanResult } from '../../src/contract/backup.js';
import { BATCH_SIZE } from '../../workflows/backup-run.js';

const IMAGES = 2000;

/** Typed against the real backup activities, so a new step cannot be missing from the fake. */
type Fakes = { [K in keyof BackupActivities]: (...args: never[]) => Promise<unknown> };

function fakeActivities(config: Config): Activities {
  const fakes: Fakes = {
    resolveRun: async (input: BackupRunInput) => ({ policy: policyOf(config), images: input.images! }),
    planRun: async (input: PlanInput) =>
      ({
        clusterDir: '/fake',
        fsid: 'fake',
        freeBytes: 1e15,
        facts: input.images.map((s: { pool: string; image: string }, i: number) => ({ pool: s.pool, image: s.image, sizeBytes: 1e9, usedBytes: 1e6 + i, changedBytes: 0, ourSnapshots: [] })),
        missing: [],
      }) satisfies PlanResult,
    recordCluster: async () => undefined,
    createSnapshot: async () => undefined,
    exportPoint: async (p: ImagePlan) => ({ file: `${p.circle}/${p.snapshot}.full`, bytes: 1, sha256: '0'.repeat(64), startedAt: p.runTime, finishedAt: p.runTime }),
    pruneSnapshots: async () => ({ deleted: [], errors: [] }),
    pruneCircles: async () => ({ pruned: [], swept: [] }),
    writeReport: async () => '/fake/report.json',
  };
  return fakes as unknown as Activities;
}

test(`a run over ${IMAGES} images stays far below Temporal's history limits (fake activities)`, { timeout: 900_000 }, async (t) => {
  const taskQueue = `scale-sim-${Date.now()}`;
  const config = configSchema.parse({
    cluster: { name: 'ceph' },
    backup: { destination: '/fake', concurrency: 100, full_weekdays: [1, 2, 3, 4, 5, 6, 7], incremental_weekdays: [] },
    temporal: { address: temporal.address, task_queue: taskQueue },
  });
  // The SDK's own INFO lines for 2,000 workflows would drown the suite's output.
  installRuntimeLogger(pino({ level: 'warn' }, pino.destination(2)));
  const nativeConnection = await NativeConnection.connect({ address: temporal.address });
  const workers = await createWorkerSet({ config, logger: pino({ level: 'warn' }), connection: nativeConnection, activities: fakeActivities(config) });
  const running = workers.run();
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  try {
    const input: BackupRunInput = {
      cluster: `sim${Date.now()}`,
      images: Array.from({ length: IMAGES }, (_, i) => ({ pool: 'rbd', image: `img-${String(i).padStart(5, '0')}` })),
      asOf: '2026-11-29T01:00:00Z',
      backupName: 'scale',
    };
    const t0 = Date.now();
    const handle = await client.workflow.start('backupRun', { taskQueue, workflowId: `scale-sim-${Date.now()}`, args: [input] });
    const report = (await handle.result()) as BackupReport;
    const seconds = (Date.now() - t0) / 1000;
    assert.equal(report.images.length, IMAGES);
    assert.equal(report.images.filter((i) => i.status === 'ok').length, IMAGES);

    const count = async (id: string) => (await client.workflow.getHandle(id).fetchHistory()).events?.length ?? 0;
    const batches = Math.ceil(IMAGES / BATCH_SIZE);
    const counts: Record<string, number> = { parent: await count(handle.workflowId) };
    for (let i = 0; i < batches; i++) counts[`batch-${i}`] = await count(`${handle.workflowId}/batch-${i}`);
    counts['image child'] = await count(`rbd-backup-image/${input.cluster}/rbd/img-00000`);
    const largest = Math.max(...Object.values(counts));
    t.diagnostic(`${IMAGES} images in ${seconds.toFixed(0)} s; history events: ${JSON.stringify(counts)}; largest ${largest}`);
    console.log(`# scale-sim: ${IMAGES} images in ${seconds.toFixed(0)} s; largest history ${largest} events ${JSON.stringify(counts)}`);
    assert.ok(largest < 10_240, `largest history ${largest} reaches Temporal's warning threshold`);
    assert.ok(counts.parent! < 200, 'the parent history does not grow with the image count');
  } finally {
    workers.shutdown();
    await running;
    await connection.close();
    await nativeConnection.close();
  }
});
