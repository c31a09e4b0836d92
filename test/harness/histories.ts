/**
 * Stored histories, one per workflow type, that the current workflow code must replay without a
 * determinism violation (test/workflow/replay.test.ts). They are recorded by running the real
 * workflows on fake activities (`npm run record-histories`) and only re-recorded on purpose: see
 * CONTRIBUTING.md, "Changing a workflow".
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { historyFromJSON as sdkHistoryFromJSON, historyToJSON as sdkHistoryToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { History } from '@temporalio/worker';
import { imageWorkflowId } from '../../src/contract/backup.js';
import type { ImageRef } from '../../src/names/names.js';
import type * as workflows from '../../workflows/index.js';
import { fakeActivities, fullPlan } from './fake-activities.js';
import { fakeConfig, repo, withWorkers } from './workflow-env.js';

export type WorkflowType = keyof typeof workflows;

export const historyDir = join(repo, 'test', 'fixtures', 'histories');
export const historyFile = (type: WorkflowType): string => join(historyDir, `${type}.json`);

const TASK_QUEUE = 'history-recorder';
const AS_OF = '2026-11-29T01:00:00Z';
const a: ImageRef = { pool: 'rbd', image: 'a' };
const b: ImageRef = { pool: 'rbd', image: 'b' };

/**
 * The workflow ID each stored history ran under. Histories do not carry it, and the workflows
 * derive child IDs from it (`<run>/batch-N`), so replay must use the same one.
 */
export const recordedIds: Record<WorkflowType, string> = {
  backupRun: 'history-backup-run',
  // backupRun's child for image a (b's export fails, so the run's own history reports a failure).
  imageBackup: imageWorkflowId('history', a),
  imageBatch: 'history-image-batch',
  restoreImage: 'history-restore',
  deleteBackup: 'history-delete',
  verifyRun: 'history-verify-run',
  // verifyRun's children, deep: a restore to a scratch image and a comparison.
  verifyImage: imageWorkflowId('history-verify', a),
  verifyBatch: 'history-verify-batch',
  rebuildCatalogs: 'history-rebuild-all',
  // rebuildCatalogs' children.
  rebuildCatalog: imageWorkflowId('history-rebuild', a),
  planBackup: 'history-plan-backup',
  describeCluster: 'history-describe-cluster',
};

/**
 * The standard JSON form of a history (what `temporal workflow show --output json` writes). The
 * lock file keeps one protobufjs (package.json `overrides`), so the SDK's own converters see the
 * same types as @temporalio/proto.
 */
export function historyToJSON(history: History): unknown {
  return JSON.parse(sdkHistoryToJSON(history));
}

export function historyFromJSON(json: unknown): History {
  // The SDK's parser ignores fields a newer server adds: they are no reason to fail a replay.
  return sdkHistoryFromJSON(json);
}

export function readHistory(type: WorkflowType): History {
  return historyFromJSON(JSON.parse(readFileSync(historyFile(type), 'utf8')));
}

/**
 * Which host and process recorded a history (worker identities, the sticky queue named after them)
 * is noise in a diff and means nothing to a replay.
 */
function scrub(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(scrub);
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const sticky = o.kind === 'TASK_QUEUE_KIND_STICKY' && typeof o.name === 'string';
    return Object.fromEntries(
      Object.entries(o).map(([k, v]) => {
        if (k === 'identity' && typeof v === 'string') return [k, 'history-recorder'];
        if (sticky && k === 'name') return [k, 'history-recorder-sticky'];
        return [k, scrub(v)];
      }),
    );
  }
  return value;
}

/** Runs every workflow type once on fakes and writes its history; returns the files written. */
export async function recordHistories(env: TestWorkflowEnvironment): Promise<string[]> {
  const config = fakeConfig(TASK_QUEUE);
  const fakes = fakeActivities(config, (d) => ({
    exportPoint: async (p) => {
      if (p.image === b.image && p.cluster === 'history') {
        const detail = { message: 'rbd export failed: (5) Input/output error', command: 'rbd export rbd/b@snap -', exitCode: 5, stderr: 'rbd: export error' };
        throw ApplicationFailure.create({ type: 'RbdError', nonRetryable: true, message: detail.message, details: [detail] });
      }
      return d.exportPoint(p);
    },
    listRebuildable: async () => [a, b].map((i) => ({ ...i, problem: 'catalog.json is unreadable' })),
  }));
  const wf = env.client.workflow;
  const opts = (type: WorkflowType) => ({ taskQueue: TASK_QUEUE, workflowId: recordedIds[type] });
  await withWorkers(env, config, fakes.activities, async () => {
    await Promise.all([
      wf.execute<typeof workflows.backupRun>('backupRun', { ...opts('backupRun'), args: [{ cluster: 'history', images: [a, b], asOf: AS_OF, backupName: 'history' }] }),
      wf.execute<typeof workflows.imageBatch>('imageBatch', { ...opts('imageBatch'), args: [[fullPlan('history-batch', a, AS_OF, recordedIds.imageBatch)]] }),
      wf.execute<typeof workflows.restoreImage>('restoreImage', {
        ...opts('restoreImage'),
        args: [{ cluster: 'history', source: a, at: '2026-11-23T01:00:00Z', target: { pool: 'rbd', image: 'a-restored' }, force: false, keepSnapshots: false }],
      }),
      wf.execute<typeof workflows.deleteBackup>('deleteBackup', { ...opts('deleteBackup'), args: [{ cluster: 'history', image: a, circle: 'rbdbackup-20261122T010000Z' }] }),
      wf.execute<typeof workflows.verifyRun>('verifyRun', { ...opts('verifyRun'), args: [{ cluster: 'history-verify', images: [a, b], deep: true }] }),
      wf.execute<typeof workflows.verifyBatch>('verifyBatch', { ...opts('verifyBatch'), args: [{ cluster: 'history-verify-batch', images: [a], explicit: true, deep: false }] }),
      wf.execute<typeof workflows.rebuildCatalogs>('rebuildCatalogs', { ...opts('rebuildCatalogs'), args: [{ cluster: 'history-rebuild' }] }),
      wf.execute<typeof workflows.planBackup>('planBackup', { ...opts('planBackup'), args: [{ cluster: 'history', images: [a, b], asOf: AS_OF }] }),
      wf.execute<typeof workflows.describeCluster>('describeCluster', { ...opts('describeCluster'), args: [{ cluster: 'history' }] }),
    ]);
  });
  mkdirSync(historyDir, { recursive: true });
  const written: string[] = [];
  for (const [type, workflowId] of Object.entries(recordedIds) as [WorkflowType, string][]) {
    const history = await wf.getHandle(workflowId).fetchHistory();
    writeFileSync(historyFile(type), `${JSON.stringify(scrub(historyToJSON(history)), null, 2)}\n`);
    written.push(historyFile(type));
  }
  return written;
}
