/**
 * In-memory FAKES of every activity, for workflow tests and history recording. `defaults` is typed
 * as the real `Activities`, so a new or changed activity fails to compile here until its fake
 * follows; a test overrides only the steps its decision path is about.
 */
import type { Activities } from '../../activities/index.js';
import { policyOf, type Config } from '../../src/config/config.js';
import type { ImagePlan } from '../../src/contract/backup.js';
import type { ChainLink, RestorePlan } from '../../src/contract/restore.js';
import { compactUtc, snapshotNameFor, type ImageRef } from '../../src/names/names.js';

export interface Call {
  name: keyof Activities;
  input: unknown;
}

export const BASE_SNAPSHOT = 'rbdbackup-20261122T010000Z';
export const DIFF_SNAPSHOT = 'rbdbackup-20261123T010000Z';
const SHA = 'a'.repeat(64);

/** The chain a fake restore plan returns: a full and one diff, so both import steps run. */
export const fakeChain: ChainLink[] = [
  { type: 'full', snapshot: BASE_SNAPSHOT, fromSnapshot: null, file: `${BASE_SNAPSHOT}/${BASE_SNAPSHOT}.full`, bytes: 1024, sha256: SHA },
  { type: 'incr', snapshot: DIFF_SNAPSHOT, fromSnapshot: BASE_SNAPSHOT, file: `${BASE_SNAPSHOT}/${DIFF_SNAPSHOT}.diff`, bytes: 512, sha256: SHA },
];

/** `overrides` may be a function of the defaults, to fail one image and pass the rest through. */
export function fakeActivities(
  config: Config,
  overrides: Partial<Activities> | ((defaults: Activities) => Partial<Activities>) = {},
): { activities: Activities; calls: Call[]; inputs: (name: keyof Activities) => unknown[] } {
  const defaults: Activities = {
    resolveRun: async (input) => ({ policy: policyOf(config), images: input.images ?? [] }),
    planRun: async (input) => ({
      clusterDir: 'fake-destination/cluster',
      fsid: 'fake-fsid',
      freeBytes: 1e15,
      facts: input.images.map((s) => ({ pool: s.pool, image: s.image, sizeBytes: 1 << 30, usedBytes: 1 << 20, changedBytes: 0, ourSnapshots: [] })),
      skipped: [],
    }),
    recordCluster: async () => undefined,
    createSnapshot: async () => undefined,
    exportPoint: async (p) => ({ file: `${p.circle}/${p.snapshot}.${p.type === 'full' ? 'full' : 'diff'}`, bytes: 1024, sha256: SHA, startedAt: p.runTime, finishedAt: p.runTime }),
    pruneSnapshots: async (r) => ({ deleted: r.failedSnapshot ? [r.failedSnapshot] : [], errors: [] }),
    pruneCircles: async () => ({ pruned: [], swept: [], unclaimed: [] }),
    writeReport: async () => 'fake-destination/report.json',
    planRestore: async (input): Promise<RestorePlan> => ({
      cluster: input.cluster,
      ...(input.destination ? { destination: input.destination } : {}),
      ...(input.fromCluster ? { fromCluster: input.fromCluster } : {}),
      source: input.source,
      target: input.target ?? { pool: input.source.pool, image: `${input.source.image}-restored` },
      targetExists: false,
      circle: BASE_SNAPSHOT,
      point: { backupName: '20261123T010000Z', snapshot: DIFF_SNAPSHOT, runTime: '2026-11-23T01:00:00.000Z' },
      chain: fakeChain,
    }),
    importFull: async () => undefined,
    applyDiff: async () => 'applied',
    finishRestore: async () => SHA,
    discardRestore: async () => [],
    snapshotSha256: async () => SHA,
    listCataloged: async () => [],
    verifyFiles: async (input) => ({ ...input.image, ok: true, files: fakeChain.map((l) => ({ file: l.file, status: 'ok' as const })), unrestorable: [], chainProblems: [] }),
    deletePoints: async (input) => ({ ...input.image, removed: { circle: input.circle ?? BASE_SNAPSHOT, files: fakeChain.map((l) => l.file), points: ['20261122T010000Z', '20261123T010000Z'] } }),
    rebuildImageCatalog: async (input) => ({ ...input.image, catalogFile: 'fake-destination/catalog.json', before: 'unreadable', circles: [{ name: BASE_SNAPSHOT, from: 'scan', points: 2, problems: [] }], points: 2, problems: [] }),
    listRebuildable: async () => [],
    clusterFacts: async (input) => ({
      name: input.cluster,
      fsid: 'fake-fsid',
      monitors: [{ name: 'a', addrs: ['v2:127.0.0.1:3300/0', 'v1:127.0.0.1:6789/0'] }],
      pools: ['rbd'],
      destination: input.destination ?? 'default',
      identityFile: 'fake-destination/cluster/cluster.json',
    }),
  };
  const merged: Activities = { ...defaults, ...(typeof overrides === 'function' ? overrides(defaults) : overrides) };
  const calls: Call[] = [];
  // Every activity takes one argument; recording it here keeps the overrides plain.
  const recorded = Object.fromEntries(
    Object.entries(merged).map(([name, fn]) => [
      name,
      async (input: unknown) => {
        calls.push({ name: name as keyof Activities, input });
        return (fn as (i: unknown) => Promise<unknown>)(input);
      },
    ]),
  ) as Activities;
  return { activities: recorded, calls, inputs: (name) => calls.filter((c) => c.name === name).map((c) => c.input) };
}

/** An image child's plan as backupRun would build it: a full of `runTime`. */
export function fullPlan(cluster: string, image: ImageRef, runTime: string, parentWorkflowId: string): ImagePlan {
  const snapshot = snapshotNameFor(new Date(runTime));
  return {
    ...image,
    cluster,
    destination: 'default',
    backupName: compactUtc(new Date(runTime)),
    runTime,
    type: 'full',
    reason: 'test plan',
    snapshot,
    circle: snapshot,
    estimatedBytes: 1 << 20,
    sizeBytes: 1 << 30,
    snapshotRetainCount: 1,
    circleRetainCount: 4,
    exportMinBytesPerSecond: 4 * 1024 * 1024,
    parentWorkflowId,
  };
}

/** A deferred the test resolves, for fakes that must wait for the test's next step. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}
