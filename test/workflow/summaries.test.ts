/**
 * What the Web UI lists for a run, read back from the server as the UI reads it: the runs' static
 * summaries (describe), the run's current details (the SDK's metadata query) and the summary of
 * every scheduled activity (user metadata on its history event). Summaries are metadata, not
 * commands: a history whose summaries say something else still replays.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Context } from '@temporalio/activity';
import { defaultPayloadConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import proto from '@temporalio/proto';
import { imageWorkflowId } from '../../src/contract/backup.js';
import { startBackupRun } from '../../src/client/backup-run.js';
import { describeCluster, planBackupRun } from '../../src/client/inspect.js';
import { policyOf } from '../../src/config/config.js';
import type * as workflows from '../../workflows/index.js';
import { BASE_SNAPSHOT, fakeActivities, fakeChain, gate } from '../harness/fake-activities.js';
import { fakeConfig, historyOf, localEnv, waitFor, withWorkers, workflowBundle } from '../harness/workflow-env.js';

type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const AS_OF = '2026-11-29T01:00:00Z';
const SNAPSHOT = 'rbdbackup-20261129T010000Z';
const METADATA_QUERY = '__temporal_workflow_metadata';

/** The summary the UI shows for each activity the workflow scheduled, in order. */
function activitySummaries(events: HistoryEvent[]): string[] {
  return events.flatMap((e) => {
    if (!e.activityTaskScheduledEventAttributes) return [];
    const p = e.userMetadata?.summary;
    return [p ? (defaultPayloadConverter.fromPayload(p) as string) : `(no summary: ${e.activityTaskScheduledEventAttributes.activityType?.name})`];
  });
}

const currentDetails = async (h: { query: (q: string) => Promise<unknown> }) => ((await h.query(METADATA_QUERY)) as { currentDetails?: string }).currentDetails;

describe('Web UI summaries (fake activities, own dev server)', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    [env] = await Promise.all([localEnv(), workflowBundle()]);
  });
  after(async () => {
    await env?.teardown();
  });

  test('a backup run, its image children and every step carry a summary; the run details its plan', { timeout: 90_000 }, async () => {
    const cluster = 'wf-summary';
    const config = fakeConfig('wf-summary');
    const policy = policyOf(config);
    const exportGate = gate();
    const sizes: Record<string, number> = { 'vm-1': 20 * GiB, 'vm-2': GiB, 'vm-3': 8 * GiB };
    const fakes = fakeActivities(config, (d) => ({
      planRun: async (input) => ({
        ...(await d.planRun(input)),
        facts: input.images.map((s) => ({
          pool: s.pool,
          image: s.image,
          sizeBytes: sizes[s.image]!,
          usedBytes: MiB,
          changedBytes: 300 * MiB,
          ourSnapshots: [BASE_SNAPSHOT],
          // vm-3 has a base, so its forced incremental goes ahead.
          ...(s.image === 'vm-3' ? { newest: { circle: BASE_SNAPSHOT, snapshot: BASE_SNAPSHOT, backupName: '20261122T010000Z', circleDirExists: true, diffsInCircle: 0, filesIntact: true } } : {}),
        })),
      }),
      exportPoint: async (p) => {
        if (p.image === 'vm-1') {
          Context.current().heartbeat({ phase: 'export', written: 0, hashed: 0 });
          await exportGate.promise;
        }
        return d.exportPoint(p);
      },
    }));
    const images = [{ pool: 'rbd', image: 'vm-1' }, { pool: 'rbd', image: 'vm-2' }, { pool: 'rbd', image: 'vm-3', backupType: 'incr' as const }];
    await withWorkers(env, config, fakes.activities, async () => {
      // Started as `rbd-backup run` starts it: through the client API.
      const run = await startBackupRun(env.client, 'wf-summary', { cluster, images, asOf: AS_OF, backupName: 'day-03' });
      const handle = env.client.workflow.getHandle(run.workflowId);
      assert.equal(await (await handle.describe()).staticSummary(), 'backup run day-03: rbd/vm-1, rbd/vm-2, rbd/vm-3');

      // Live: two images done, the largest still exporting.
      const live = await waitFor('two images to finish', async () => {
        const d = await currentDetails(handle);
        return d?.includes('2 ok') ? d : undefined;
      });
      assert.equal(live, 'backup run day-03: 3 images, 2 full 1 incr, 21.3 GiB; backing up: 2 ok, 1 to go');
      exportGate.open();
      const report = await run.result();
      assert.equal(report.status, 'ok');
      assert.equal(await currentDetails(handle), 'backup run day-03: 3 images, 2 full 1 incr, 21.3 GiB; done: 3 ok');

      const runEvents = await historyOf(env.client, run.workflowId);
      assert.deepEqual(activitySummaries(runEvents), [
        'resolve policy and images (rbd/vm-1, rbd/vm-2, rbd/vm-3)',
        'plan rbd/vm-1, rbd/vm-2, rbd/vm-3',
        'record cluster fsid fake-fsid',
        'write report of run day-03: ok',
      ]);
      const childSummaries = runEvents.flatMap((e) => (e.startChildWorkflowExecutionInitiatedEventAttributes && e.userMetadata?.summary ? [defaultPayloadConverter.fromPayload(e.userMetadata.summary) as string] : []));
      assert.deepEqual(childSummaries.sort(), ['full rbd/vm-1 20 GiB, run day-03', 'full rbd/vm-2 1 GiB, run day-03', 'incr rbd/vm-3 ~300 MiB, run day-03']);

      const keep = `keep ${policy.snapshotRetainCount}`;
      const expected: Record<string, string[]> = {
        'vm-1': [`snapshot rbd/vm-1@${SNAPSHOT}`, 'export rbd/vm-1 full 20 GiB', `delete snapshots rbd/vm-1 (${keep})`, `prune circles rbd/vm-1 (keep ${policy.circleRetainCount})`],
        'vm-3': [`snapshot rbd/vm-3@${SNAPSHOT}`, `export rbd/vm-3 incr ~300 MiB since ${BASE_SNAPSHOT}`, `delete snapshots rbd/vm-3 (${keep})`, `prune circles rbd/vm-3 (keep ${policy.circleRetainCount})`],
      };
      for (const [name, summaries] of Object.entries(expected)) {
        const child = env.client.workflow.getHandle(imageWorkflowId(cluster, { pool: 'rbd', image: name }));
        assert.match((await (await child.describe()).staticSummary()) ?? '', new RegExp(`^(full|incr) rbd/${name} `));
        assert.deepEqual(activitySummaries(await historyOf(env.client, child.workflowId)), summaries, name);
      }

      // The texts are metadata: a history whose summaries all say something else replays as is,
      // so changing a summary never needs a patch (histories without any: replay.test.ts).
      for (const workflowId of [run.workflowId, imageWorkflowId(cluster, { pool: 'rbd', image: 'vm-1' })]) {
        const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
        let rewritten = 0;
        for (const e of history.events ?? []) {
          if (e.userMetadata?.summary) {
            e.userMetadata.summary = defaultPayloadConverter.toPayload(`another text ${rewritten++}`);
          }
        }
        assert.ok(rewritten >= 4, `${workflowId}: summaries rewritten (${rewritten})`);
        await Worker.runReplayHistory({ workflowBundle: await workflowBundle(), replayName: `summaries-${rewritten}` }, history, workflowId);
      }
    });
  });

  test('a dry run and show cluster carry a summary, and so do their steps', { timeout: 60_000 }, async () => {
    const config = fakeConfig('wf-summary-plan');
    const fakes = fakeActivities(config);
    const images = [{ pool: 'rbd', image: 'vm-1' }, { pool: 'rbd', image: 'vm-2' }];
    await withWorkers(env, config, fakes.activities, async () => {
      // Started as `run --dry-run` and `show cluster` start them: through the client API, fresh IDs.
      await planBackupRun(env.client, 'wf-summary-plan', { cluster: 'ceph', images, asOf: AS_OF });
      await describeCluster(env.client, 'wf-summary-plan', { cluster: 'ceph' });
      const started = await waitFor('both runs listed', async () => {
        const got: { type: string; workflowId: string }[] = [];
        for await (const w of env.client.workflow.list({ query: 'TaskQueue = "wf-summary-plan"' })) got.push({ type: w.type, workflowId: w.workflowId });
        return got.length === 2 ? got : undefined;
      });
      const seen: Record<string, { summary: string | undefined; steps: string[] }> = {};
      for (const w of started) {
        const h = env.client.workflow.getHandle(w.workflowId);
        seen[w.type] = { summary: await (await h.describe()).staticSummary(), steps: activitySummaries(await historyOf(env.client, w.workflowId)) };
      }
      assert.deepEqual(seen, {
        planBackup: {
          summary: `dry run of a backup run as of ${AS_OF}: rbd/vm-1, rbd/vm-2`,
          steps: ['dry run: resolve policy and images (rbd/vm-1, rbd/vm-2)', 'dry run: plan rbd/vm-1, rbd/vm-2'],
        },
        describeCluster: {
          summary: 'show cluster ceph (destination default)',
          steps: ['read cluster ceph (fsid, monitors, pools) and its cluster.json in destination default'],
        },
      });
    });
  });

  test('a restore lists each link of its chain with its size and target', { timeout: 60_000 }, async () => {
    const config = fakeConfig('wf-summary-restore');
    const fakes = fakeActivities(config);
    const target = { pool: 'rbd', image: 'vm-1-restored' };
    await withWorkers(env, config, fakes.activities, async () => {
      const run = await env.client.workflow.start<typeof workflows.restoreImage>('restoreImage', {
        taskQueue: 'wf-summary-restore',
        workflowId: 'wf-summary-restore-run',
        args: [{ cluster: 'wf-summary-restore', source: { pool: 'rbd', image: 'vm-1' }, at: '20261123T010000Z', target, force: false, keepSnapshots: false }],
      });
      await run.result();
      assert.deepEqual(activitySummaries(await historyOf(env.client, run.workflowId)), [
        'plan restore of rbd/vm-1 at 20261123T010000Z',
        `import full ${fakeChain[0]!.file} (1 KiB) into rbd/vm-1-restored`,
        `apply diff ${fakeChain[1]!.file} (512 B) into rbd/vm-1-restored`,
        'finish restore into rbd/vm-1-restored',
      ]);
      // Disaster recovery onto the same name: the source reads as the other cluster's.
      const dr = await env.client.workflow.start<typeof workflows.restoreImage>('restoreImage', {
        taskQueue: 'wf-summary-restore',
        workflowId: 'wf-summary-restore-dr',
        args: [{ cluster: 'wf-summary-restore', fromCluster: 'site-a', source: { pool: 'rbd', image: 'vm-1' }, at: '20261123T010000Z', target: { pool: 'rbd', image: 'vm-1' }, force: false, keepSnapshots: false }],
      });
      await dr.result();
      assert.equal(activitySummaries(await historyOf(env.client, dr.workflowId))[0], 'plan restore of site-a:rbd/vm-1 at 20261123T010000Z');
    });
  });
});
