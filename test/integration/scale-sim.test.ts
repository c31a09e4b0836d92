/**
 * Scale SIMULATION: the real workflows on the real dev server, over 2,000 images whose activities
 * are fast in-memory FAKES (no Ceph). It measures what matters for Temporal's limits: the largest
 * history any workflow of the run reaches (limit 51,200 events; warning at 10,240).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { pino } from 'pino';
import { temporal } from '../harness/env.js';
import { createWorkerSet, installRuntimeLogger } from '../../worker/worker.js';
import { configSchema, policyOf, type Config } from '../../src/config/config.js';
import type { Activities } from '../../activities/index.js';
import type { PlanInput } from '../../activities/backup.js';
import type { FileCheck, ImageVerification, VerifyReport } from '../../src/contract/restore.js';
import type { ImageRef } from '../../src/names/names.js';
import type { BackupReport, BackupRunInput, ImagePlan, PlanResult } from '../../src/contract/backup.js';
import { BATCH_SIZE } from '../../workflows/backup-run.js';

const IMAGES = 2000;

/** Typed against the real activities, so a new step cannot be missing from the fake. */
type Fakes = { [K in keyof Activities]: (...args: never[]) => Promise<unknown> };

const POINTS = 28;
/** Every 100th image has one corrupt file: the report must carry exactly these in full. */
const corrupt = (image: string) => Number(image.slice(-5)) % 100 === 0;

function fakeVerification(image: ImageRef): ImageVerification {
  const files: FileCheck[] = Array.from({ length: POINTS }, (_, i) => ({ file: `rbdbackup-20261101T000000Z/rbdbackup-202611${String(i + 1).padStart(2, '0')}T000000Z_from_x.diff`, status: 'ok' }));
  if (!corrupt(image.image)) return { ...image, ok: true, files, unrestorable: [], chainProblems: [] };
  files[20] = { ...files[20]!, status: 'corrupt', detail: `sha256 ${'1'.repeat(64)}, catalog says ${'2'.repeat(64)}` };
  return { ...image, ok: false, files, unrestorable: files.slice(20).map((f) => ({ backupName: f.file, snapshot: f.file, file: f.file })), chainProblems: [] };
}

function fakeActivities(config: Config): Activities {
  const notUsed = async () => {
    throw new Error('not used by the simulation');
  };
  const fakes: Fakes = {
    listCataloged: async () => Array.from({ length: IMAGES }, (_, i) => ({ pool: 'rbd', image: `img-${String(i).padStart(5, '0')}` })),
    verifyFiles: async (input: { image: ImageRef }) => fakeVerification(input.image),
    planRestore: notUsed,
    importFull: notUsed,
    applyDiff: notUsed,
    finishRestore: notUsed,
    discardRestore: notUsed,
    snapshotSha256: notUsed,
    deletePoints: notUsed,
    rebuildImageCatalog: notUsed,
    listRebuildable: notUsed,
    clusterFacts: notUsed,
    resolveRun: async (input: BackupRunInput) => ({ policy: policyOf(config), images: input.images! }),
    planRun: async (input: PlanInput) =>
      ({
        clusterDir: '/fake',
        fsid: 'fake',
        freeBytes: 1e15,
        facts: input.images.map((s: { pool: string; image: string }, i: number) => ({ pool: s.pool, image: s.image, sizeBytes: 1e9, usedBytes: 1e6 + i, changedBytes: 0, ourSnapshots: [] })),
        skipped: [],
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

describe(`${IMAGES} images (fake activities, real dev server)`, () => {
  const taskQueue = `scale-sim-${Date.now()}`;
  let workers: Awaited<ReturnType<typeof createWorkerSet>>;
  let running: Promise<void>;
  let nativeConnection: NativeConnection;
  let connection: Connection;
  let client: Client;
  const cluster = `sim${Date.now()}`;
  before(async () => {
    const config = configSchema.parse({
      cluster: { name: 'ceph' },
      backup: { destination: '/fake', concurrency: 100, full_weekdays: [1, 2, 3, 4, 5, 6, 7], incremental_weekdays: [] },
      temporal: { address: temporal.address, task_queue: taskQueue },
    });
    // The SDK's own INFO lines for 2,000 workflows would drown the suite's output.
    installRuntimeLogger(pino({ level: 'warn' }, pino.destination(2)));
    nativeConnection = await NativeConnection.connect({ address: temporal.address });
    workers = await createWorkerSet({ config, logger: pino({ level: 'warn' }), connection: nativeConnection, activities: fakeActivities(config) });
    running = workers.run();
    connection = await Connection.connect({ address: temporal.address });
    client = new Client({ connection });
  });
  after(async () => {
    workers.shutdown();
    await running;
    await connection.close();
    await nativeConnection.close();
  });
  /**
   * Events (and bytes) of a history, from describe(): fetching a 2,000-image run's parent history
   * can exceed gRPC's 4 MiB message size in one page, whatever page size is asked for.
   */
  const sizes: Record<string, number> = {};
  const count = async (id: string): Promise<number> => {
    const d = await client.workflow.getHandle(id).describe();
    sizes[id] = d.historySize ?? 0;
    return d.historyLength;
  };

  test('a backup run stays far below Temporal\'s history limits', { timeout: 900_000 }, async (t) => {
    const input: BackupRunInput = {
      cluster,
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

    const batches = Math.ceil(IMAGES / BATCH_SIZE);
    const counts: Record<string, number> = { parent: await count(handle.workflowId) };
    for (let i = 0; i < batches; i++) counts[`batch-${i}`] = await count(`${handle.workflowId}/batch-${i}`);
    counts['image child'] = await count(`rbd-backup-image/${input.cluster}/rbd/img-00000`);
    const largest = Math.max(...Object.values(counts));
    t.diagnostic(`${IMAGES} images in ${seconds.toFixed(0)} s; history events: ${JSON.stringify(counts)}; largest ${largest}`);
    console.log(`# scale-sim: ${IMAGES} images in ${seconds.toFixed(0)} s; largest history ${largest} events ${JSON.stringify(counts)}; parent history ${sizes[handle.workflowId]} bytes`);
    assert.ok(largest < 10_240, `largest history ${largest} reaches Temporal's warning threshold`);
    assert.ok(counts.parent! < 200, 'the parent history does not grow with the image count');
    const biggest = Math.max(...Object.values(sizes));
    assert.ok(biggest < 10 * 1024 * 1024, `a history of ${biggest} bytes reaches Temporal's 10 MB warning`);
  });

  test(`verify of ${IMAGES} images × ${POINTS} points returns problems in full and counts for the rest`, { timeout: 900_000 }, async (t) => {
    const t0 = Date.now();
    const handle = await client.workflow.start('verifyRun', { taskQueue, workflowId: `scale-sim-verify-${Date.now()}`, args: [{ cluster, deep: false }] });
    const report = (await handle.result()) as VerifyReport;
    const seconds = (Date.now() - t0) / 1000;
    const bad = Array.from({ length: IMAGES }, (_, i) => `img-${String(i).padStart(5, '0')}`).filter(corrupt);
    assert.equal(report.checked, IMAGES);
    assert.equal(report.clean, IMAGES - bad.length);
    assert.equal(report.ok, false);
    assert.deepEqual(report.images.map((i) => i.image).sort(), bad);
    for (const img of report.images) assert.deepEqual(img.files.map((f) => f.status), ['corrupt'], 'only the files at fault');
    const bytes = JSON.stringify(report).length;
    const counts: Record<string, number> = { parent: await count(handle.workflowId) };
    for (let i = 0; i < Math.ceil(IMAGES / BATCH_SIZE); i++) counts[`batch-${i}`] = await count(`${handle.workflowId}/batch-${i}`);
    const largest = Math.max(...Object.values(counts));
    console.log(`# scale-sim: verify of ${IMAGES} images in ${seconds.toFixed(0)} s; report ${bytes} bytes; largest history ${largest} events ${JSON.stringify(counts)}`);
    t.diagnostic(`report ${bytes} bytes`);
    assert.ok(bytes < 512 * 1024, `report of ${bytes} bytes is far below the 2 MiB payload limit`);
    assert.ok(largest < 10_240, `largest history ${largest} reaches Temporal's warning threshold`);
    assert.ok(counts.parent! < 200, 'the parent history does not grow with the image count');
  });
});
