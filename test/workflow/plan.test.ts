/**
 * planBackup on fake activities: it decides as backupRun does on the same facts, and it only
 * reads (resolveRun and planRun, no snapshot, no child, no search attribute).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { configSchema, policyOf } from '../../src/config/config.js';
import type { BackupReport, ImageFacts } from '../../src/contract/backup.js';
import type { BackupPlan } from '../../src/contract/plan.js';
import type * as workflows from '../../workflows/index.js';
import { fakeActivities } from '../harness/fake-activities.js';
import { eventTypes, historyOf, localEnv, withWorkers, workflowBundle } from '../harness/workflow-env.js';

/** A Monday: an incremental day under the config below. */
const MON = '2026-11-30T01:00:00Z';
const BASE = 'rbdbackup-20261129T010000Z';
/** The Saturday before: in neither weekday list of the second config. */
const SAT = '2026-11-28T01:00:00Z';

describe('planBackup (fake activities, own dev server)', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    [env] = await Promise.all([localEnv(), workflowBundle()]);
  });
  after(async () => {
    await env?.teardown();
  });

  test('plans what backupRun then does, and only reads', { timeout: 60_000 }, async () => {
    const config = configSchema.parse({
      cluster: { name: 'ceph' },
      backup: { destination: 'fake-destination', full_weekdays: [7], incremental_weekdays: [1, 2, 3, 4, 5, 6], max_incremental: 2 },
      temporal: { task_queue: 'wf-plan' },
    });
    const newest = (diffs: number, snapshot = BASE) => ({ circle: BASE, snapshot, backupName: 'b', circleDirExists: true, diffsInCircle: diffs, filesIntact: true });
    const facts: Record<string, Partial<ImageFacts>> = {
      fresh: {},
      chained: { ourSnapshots: [BASE], newest: newest(0) },
      'base-gone': { newest: newest(0) },
      'circle-full': { ourSnapshots: [BASE], newest: newest(2) },
    };
    const fakes = fakeActivities(config, {
      planRun: async (input) => ({
        clusterDir: 'fake-destination/ceph',
        fsid: 'fake-fsid',
        freeBytes: 1e15,
        facts: input.images.filter((s) => s.image in facts).map((s) => ({ pool: s.pool, image: s.image, sizeBytes: 1 << 30, usedBytes: 1 << 20, changedBytes: 1 << 10, ourSnapshots: [], ...facts[s.image] })),
        skipped: input.images.filter((s) => !(s.image in facts)).map((s) => ({ pool: s.pool, image: s.image, reason: `image ${s.pool}/${s.image} not found` })),
      }),
    });
    const images = [...Object.keys(facts), 'missing'].map((image) => ({ pool: 'rbd', image }));
    await withWorkers(env, config, fakes.activities, async () => {
      const plan = await env.client.workflow.execute<typeof workflows.planBackup>('planBackup', { taskQueue: 'wf-plan', workflowId: 'wf-plan', args: [{ cluster: 'ceph', images, asOf: MON }] });
      assert.deepEqual(
        fakes.calls.map((c) => c.name),
        ['resolveRun', 'planRun'],
      );
      const planHistory = eventTypes(await historyOf(env.client, 'wf-plan'));
      assert.deepEqual(planHistory.filter((t) => /SEARCH_ATTRIBUTES|CHILD_WORKFLOW|TIMER/.test(t)), [], planHistory.join(' '));

      const report = await env.client.workflow.execute<typeof workflows.backupRun>('backupRun', { taskQueue: 'wf-plan', workflowId: 'wf-plan-run', args: [{ cluster: 'ceph', images, asOf: MON }] });
      const did = (r: BackupReport) => Object.fromEntries(r.images.map((i) => [i.image, i.status === 'ok' ? i.type : i.status]));
      const said = (p: BackupPlan) => Object.fromEntries(p.images.map((i) => [i.image, i.action === 'skip' ? 'skipped' : i.action]));
      assert.deepEqual(said(plan), did(report));
      assert.deepEqual(said(plan), { fresh: 'full', chained: 'incr', 'base-gone': 'full', 'circle-full': 'full', missing: 'skipped' });
      // The same reasons, word for word: the run's images carry them into the children's plans.
      const reasons = new Map(fakes.inputs('exportPoint').map((p) => { const x = p as { image: string; reason: string }; return [x.image, x.reason]; }));
      for (const i of plan.images.filter((x) => x.action === 'full' || x.action === 'incr')) assert.equal(i.reason, reasons.get(i.image), i.image);
    });
  });

  test('names the image source could not map are skip rows, as the run reports them, on any day', { timeout: 60_000 }, async () => {
    const config = configSchema.parse({
      cluster: { name: 'ceph' },
      backup: { destination: 'fake-destination', full_weekdays: [7], incremental_weekdays: [1, 2, 3, 4, 5] },
      temporal: { task_queue: 'wf-plan-unmapped' },
    });
    const unmapped = [
      { pool: 'volumes', image: 'app', reason: 'no Cinder volume named "app"' },
      { pool: 'volumes', image: 'db', reason: '"db" is ambiguous: volumes 1, 2' },
    ];
    // What resolveRun says when Cinder maps one name of three (the list comes from the worker).
    const fakes = fakeActivities(config, { resolveRun: async () => ({ policy: policyOf(config), images: [{ pool: 'volumes', image: 'web' }], skipped: unmapped }) });
    const skips = (rows: { image: string; reason?: string }[]) => rows.map((r) => `${r.image}: ${r.reason}`);
    await withWorkers(env, config, fakes.activities, async () => {
      for (const [day, asOf, planned] of [['Monday', MON, true], ['Saturday, in neither list', SAT, false]] as const) {
        const id = `wf-plan-unmapped-${planned}`;
        const plan = await env.client.workflow.execute<typeof workflows.planBackup>('planBackup', { taskQueue: 'wf-plan-unmapped', workflowId: id, args: [{ cluster: 'ceph', asOf }] });
        const report = await env.client.workflow.execute<typeof workflows.backupRun>('backupRun', { taskQueue: 'wf-plan-unmapped', workflowId: `${id}-run`, args: [{ cluster: 'ceph', asOf }] });
        assert.deepEqual(skips(plan.images.filter((i) => i.action === 'skip')), skips(unmapped), day);
        assert.deepEqual(skips(report.images.filter((i) => i.status === 'skipped')), skips(unmapped), day);
        if (planned) {
          assert.equal(plan.outcome, 'would-run', day);
          assert.equal(plan.images.find((i) => i.image === 'web')?.action, 'full', day);
          assert.equal(report.status, 'partial', day);
        } else {
          assert.equal(plan.outcome, 'nothing-scheduled', day);
          assert.equal(plan.images.find((i) => i.image === 'web')?.action, 'not-scheduled', day);
          assert.equal(report.status, 'nothing-scheduled', day);
        }
      }
    });
  });
});
