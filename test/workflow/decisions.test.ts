/**
 * The workflows' decision paths on fake activities and a dev server of their own (no Ceph): each
 * test checks the outcome a caller sees and, where the path is about what the workflow did rather
 * than what it reported, the history the server recorded.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Context } from '@temporalio/activity';
import { ActivityFailure, ApplicationFailure, CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { imageWorkflowId, INPUT_ERROR, type BackupReport, type FailureDetail } from '../../src/contract/backup.js';
import type { ImageRef } from '../../src/names/names.js';
import type * as workflows from '../../workflows/index.js';
import { PROGRESS_QUERY, type RunProgress } from '../../src/contract/progress.js';
import { runStatus } from '../../src/client/progress.js';
import { fakeActivities, fakeChain, gate } from '../harness/fake-activities.js';
import { eventTypes, fakeConfig, historyOf, localEnv, scheduledActivities, waitFor, withWorkers, workflowBundle } from '../harness/workflow-env.js';

const AS_OF = '2026-11-29T01:00:00Z';
const SNAPSHOT = 'rbdbackup-20261129T010000Z';
const image = (name: string): ImageRef => ({ pool: 'rbd', image: name });
const byImage = (r: BackupReport, name: string) => r.images.find((i) => i.image === name);

/** The failure a fake rbd step throws: what toFailure makes of an RbdError, details and all. */
function rbdFailure(detail: FailureDetail): ApplicationFailure {
  return ApplicationFailure.create({ type: 'RbdError', nonRetryable: true, message: detail.message, details: [detail] });
}

async function failureOf(p: Promise<unknown>): Promise<WorkflowFailedError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof WorkflowFailedError, `expected a failed workflow, got ${String(e)}`);
    return e;
  }
  assert.fail('the workflow succeeded');
}

describe('workflow decisions (fake activities, own dev server)', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    [env] = await Promise.all([localEnv(), workflowBundle()]);
  });
  after(async () => {
    await env?.teardown();
  });

  test('an image whose mutex is held is reported busy and left alone; the others are backed up', { timeout: 60_000 }, async () => {
    const cluster = 'wf-busy';
    const config = fakeConfig('wf-busy');
    const fakes = fakeActivities(config);
    const heldId = imageWorkflowId(cluster, image('held'));
    // Nobody polls this queue, so the holder stays running and its workflow ID stays taken.
    const holder = await env.client.workflow.start('imageBackup', { taskQueue: 'wf-busy-nobody-polls', workflowId: heldId, args: [] });
    try {
      await withWorkers(env, config, fakes.activities, async () => {
        const run = await env.client.workflow.start<typeof workflows.backupRun>('backupRun', {
          taskQueue: 'wf-busy',
          workflowId: 'wf-busy-run',
          args: [{ cluster, images: [image('held'), image('free')], asOf: AS_OF, backupName: 'busy' }],
        });
        const report = await run.result();
        assert.equal(report.status, 'partial');
        assert.equal(byImage(report, 'held')?.status, 'busy');
        assert.match(byImage(report, 'held')?.reason ?? '', /another run holds rbd-backup-image\/wf-busy\/rbd\/held/);
        assert.equal(byImage(report, 'free')?.status, 'ok');
        assert.deepEqual(fakes.inputs('createSnapshot').map((p) => (p as ImageRef).image), ['free'], 'no snapshot of the busy image');

        const failedStarts = (await historyOf(env.client, run.workflowId)).flatMap((e) => (e.startChildWorkflowExecutionFailedEventAttributes ? [e.startChildWorkflowExecutionFailedEventAttributes] : []));
        assert.deepEqual(
          failedStarts.map((a) => [a.workflowId, a.cause]),
          [[heldId, proto.temporal.api.enums.v1.StartChildWorkflowExecutionFailedCause.START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS]],
        );
      });
      const d = await holder.describe();
      assert.equal(d.status.name, 'RUNNING', 'the holder was neither waited for nor disturbed');
      assert.equal(d.runId, holder.firstExecutionRunId);
    } finally {
      await holder.terminate('test over');
    }
  });

  test('a failed export still runs snapshot retention (with the failed snapshot) and circle pruning', { timeout: 60_000 }, async () => {
    const cluster = 'wf-export';
    const config = fakeConfig('wf-export');
    const detail: FailureDetail = { message: 'rbd export failed: (5) Input/output error', command: 'rbd export rbd/bad@x -', exitCode: 5, stderr: 'rbd: export error: (5) Input/output error' };
    const fakes = fakeActivities(config, (d) => ({
      exportPoint: async (p) => {
        if (p.image === 'bad') throw rbdFailure(detail);
        return d.exportPoint(p);
      },
    }));
    await withWorkers(env, config, fakes.activities, async () => {
      const report = await env.client.workflow.execute<typeof workflows.backupRun>('backupRun', {
        taskQueue: 'wf-export',
        workflowId: 'wf-export-run',
        args: [{ cluster, images: [image('bad'), image('good')], asOf: AS_OF, backupName: 'export' }],
      });
      assert.equal(report.status, 'partial');
      const bad = byImage(report, 'bad');
      assert.equal(bad?.status, 'failed');
      assert.deepEqual(bad?.error, { ...detail, message: `export: ${detail.message}` }, "the activity's own message, command and stderr");
      assert.deepEqual(bad?.deletedSnapshots, [SNAPSHOT]);
      assert.deepEqual(bad?.cleanupErrors, []);
      assert.equal(byImage(report, 'good')?.status, 'ok');

      const prunes = fakes.inputs('pruneSnapshots') as { image: string; failedSnapshot?: string }[];
      assert.equal(prunes.find((p) => p.image === 'bad')?.failedSnapshot, SNAPSHOT, 'the failed snapshot is named, so it never becomes a base');
      assert.equal(prunes.find((p) => p.image === 'good')?.failedSnapshot, undefined);

      const events = await historyOf(env.client, imageWorkflowId(cluster, image('bad')));
      assert.deepEqual(
        scheduledActivities(events).map((a) => [a.type, a.taskQueue]),
        [
          ['createSnapshot', 'wf-export-snapshot'],
          ['exportPoint', 'wf-export-export'],
          ['pruneSnapshots', 'wf-export-snapdelete'],
          ['pruneCircles', 'wf-export'],
        ],
      );
      assert.equal(eventTypes(events).filter((t) => t === 'ACTIVITY_TASK_FAILED').length, 1, 'a non-retryable failure is tried once');
      assert.equal((scheduledActivities(events)[2]?.input as { failedSnapshot?: string }).failedSnapshot, SNAPSHOT);
    });
  });

  test('a cancelled run cancels the export, the image child still removes its own snapshot, and the report names the cancelled image', { timeout: 60_000 }, async () => {
    const cluster = 'wf-cancel';
    const config = fakeConfig('wf-cancel');
    const exporting = gate();
    const cancelRecorded = gate();
    let exportSawCancel = false;
    const fakes = fakeActivities(config, (d) => ({
      exportPoint: async (p) => {
        if (p.image === 'early') return d.exportPoint(p);
        const ctx = Context.current();
        exporting.open();
        // A cancellation only reaches an activity in a heartbeat's reply: the first beat waits
        // until the server has the cancel request, so its reply carries it at once.
        await cancelRecorded.promise;
        const beat = setInterval(() => ctx.heartbeat(), 200);
        ctx.heartbeat();
        try {
          await ctx.cancelled;
        } catch (e) {
          exportSawCancel = true;
          throw e;
        } finally {
          clearInterval(beat);
        }
        throw new Error('the export was never cancelled');
      },
    }));
    await withWorkers(env, config, fakes.activities, async () => {
      const run = await env.client.workflow.start<typeof workflows.backupRun>('backupRun', {
        taskQueue: 'wf-cancel',
        workflowId: 'wf-cancel-run',
        args: [{ cluster, images: [image('a'), image('early')], asOf: AS_OF, backupName: 'cancel' }],
      });
      const childId = imageWorkflowId(cluster, image('a'));
      await exporting.promise;
      // The image that finished before the cancel keeps its point.
      await waitFor('the early image to be done', async () => ((await runStatus(run)).images.find((i) => i.image === 'early')?.phase === 'done' ? true : undefined));
      await run.cancel();
      await waitFor('the export cancel request in the image history', async () =>
        (await historyOf(env.client, childId)).some((e) => e.activityTaskCancelRequestedEventAttributes) ? true : undefined,
      );
      cancelRecorded.open();

      const failure = await failureOf(run.result());
      assert.ok(failure.cause instanceof CancelledFailure, `run ended by ${String(failure.cause)}`);
      assert.equal((await run.describe()).status.name, 'CANCELLED');
      assert.ok(exportSawCancel, 'the export activity was cancelled');
      const prunesOf = (name: string) => fakes.inputs('pruneSnapshots').filter((p) => (p as ImageRef).image === name);
      assert.deepEqual(prunesOf('a'), [{ cluster, destination: 'default', pool: 'rbd', image: 'a', run: 'cancel', retain: 1, failedSnapshot: SNAPSHOT }]);
      assert.equal(fakes.inputs('pruneCircles').filter((p) => (p as ImageRef).image === 'a').length, 0);

      // The report is written after the children's cleanup, although the run is being cancelled.
      const reports = fakes.inputs('writeReport') as { report: BackupReport }[];
      assert.equal(reports.length, 1);
      const report = reports[0]!.report;
      assert.equal(report.status, 'cancelled');
      assert.equal(byImage(report, 'a')?.status, 'cancelled');
      assert.equal(byImage(report, 'early')?.status, 'ok');
      assert.equal(byImage(report, 'early')?.snapshot, SNAPSHOT);

      // The closed run still answers its progress query, which is what `cancel` prints.
      const after = await runStatus(run);
      assert.deepEqual(after.images.map((i) => [i.image, i.phase]).sort(), [['a', 'cancelled'], ['early', 'done']]);
      assert.equal(after.progress.reportFile, 'fake-destination/report.json');

      const child = env.client.workflow.getHandle(childId);
      assert.equal((await child.describe()).status.name, 'CANCELLED');
      const events = await historyOf(env.client, childId);
      const types = eventTypes(events);
      // The deletion is scheduled only once the export has acknowledged its cancellation (rbd has
      // stopped reading the snapshot), and it completes although the child is being cancelled.
      const exportCanceled = types.indexOf('ACTIVITY_TASK_CANCELED');
      const pruneScheduled = events.findIndex((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'pruneSnapshots');
      assert.ok(exportCanceled > types.indexOf('ACTIVITY_TASK_CANCEL_REQUESTED') && exportCanceled > 0, types.join(' '));
      assert.ok(pruneScheduled > exportCanceled, types.join(' '));
      assert.ok(types.lastIndexOf('ACTIVITY_TASK_COMPLETED') > pruneScheduled, 'the deletion completed');
      assert.equal(types.at(-1), 'WORKFLOW_EXECUTION_CANCELED');

      const runTypes = eventTypes(await historyOf(env.client, run.workflowId));
      const reportAt = runTypes.lastIndexOf('ACTIVITY_TASK_SCHEDULED');
      assert.ok(reportAt > runTypes.lastIndexOf('CHILD_WORKFLOW_EXECUTION_CANCELED'), 'the report waits for the cancelled child');
      assert.equal(runTypes.at(-1), 'WORKFLOW_EXECUTION_CANCELED');
    });
  });

  test('a run cancelled while it plans writes the cancelled report: every image named, none started', { timeout: 60_000 }, async () => {
    const cluster = 'wf-cancel-plan';
    const config = fakeConfig('wf-cancel-plan');
    const planning = gate();
    const runClosed = gate();
    let planSawCancel = false;
    const fakes = fakeActivities(config, {
      // The plan step blocks until the run's cancel reaches it, in a heartbeat's reply. The run
      // does not wait for that (its activities are cancelled with TRY_CANCEL), so the first beat
      // goes out once the run has closed, and its reply cancels the step at once.
      planRun: async () => {
        const ctx = Context.current();
        planning.open();
        await runClosed.promise;
        const beat = setInterval(() => ctx.heartbeat(), 200);
        ctx.heartbeat();
        try {
          await ctx.cancelled;
        } catch (e) {
          planSawCancel = true;
          throw e;
        } finally {
          clearInterval(beat);
        }
        throw new Error('the plan was never cancelled');
      },
    });
    await withWorkers(env, config, fakes.activities, async () => {
      const run = await env.client.workflow.start<typeof workflows.backupRun>('backupRun', {
        taskQueue: 'wf-cancel-plan',
        workflowId: 'wf-cancel-plan-run',
        args: [{ cluster, images: [image('a'), image('b')], asOf: AS_OF, backupName: 'cancel-plan' }],
      });
      await planning.promise;
      await run.cancel();

      const failure = await failureOf(run.result());
      assert.ok(failure.cause instanceof CancelledFailure, `run ended by ${String(failure.cause)}`);
      assert.equal((await run.describe()).status.name, 'CANCELLED');
      runClosed.open();
      await waitFor('the plan activity to see its cancel', async () => (planSawCancel ? true : undefined));

      const reports = fakes.inputs('writeReport') as { destination: string; report: BackupReport }[];
      assert.equal(reports.length, 1, 'one report, written although the run was being cancelled');
      const { destination, report } = reports[0]!;
      assert.equal(destination, 'default');
      assert.equal(report.status, 'cancelled');
      assert.equal(report.backupName, 'cancel-plan');
      assert.deepEqual(
        report.images.map((i) => [i.image, i.status, i.reason]),
        [
          ['a', 'cancelled', 'run cancelled while planning; not started'],
          ['b', 'cancelled', 'run cancelled while planning; not started'],
        ],
      );
      for (const step of ['recordCluster', 'createSnapshot', 'exportPoint'] as const) assert.equal(fakes.inputs(step).length, 0, `${step} never ran`);
      assert.equal((await runStatus(run)).progress.reportFile, 'fake-destination/report.json');

      const events = await historyOf(env.client, run.workflowId);
      const types = eventTypes(events);
      assert.deepEqual(scheduledActivities(events).map((a) => a.type), ['resolveRun', 'planRun', 'writeReport']);
      assert.ok(types.indexOf('MARKER_RECORDED') > types.indexOf('WORKFLOW_EXECUTION_CANCEL_REQUESTED'), 'the patch marker is recorded on the cancel path');
      assert.equal(types.at(-1), 'WORKFLOW_EXECUTION_CANCELED');
    });
  });

  test('the progress query follows each image through its phases, and watching adds no history event', { timeout: 60_000 }, async () => {
    const cluster = 'wf-progress';
    const config = fakeConfig('wf-progress');
    const snapshotGate = gate();
    const exportGate = gate();
    const fakes = fakeActivities(config, (d) => ({
      createSnapshot: async (p) => {
        if (p.image === 'slow') await snapshotGate.promise;
        return d.createSnapshot(p);
      },
      exportPoint: async (p) => {
        if (p.image !== 'slow') return d.exportPoint(p);
        Context.current().heartbeat({ phase: 'export', written: 4096, hashed: 0 });
        await exportGate.promise;
        return d.exportPoint(p);
      },
    }));
    await withWorkers(env, config, fakes.activities, async () => {
      const run = await env.client.workflow.start<typeof workflows.backupRun>('backupRun', {
        taskQueue: 'wf-progress',
        workflowId: 'wf-progress-run',
        args: [{ cluster, images: [image('slow'), image('quick')], asOf: AS_OF, backupName: 'progress' }],
      });
      const phaseOf = async (name: string) => (await runStatus(run)).images.find((i) => i.image === name);
      const reached = (name: string, phase: string) => waitFor(`${name} to reach ${phase}`, async () => {
        const i = await phaseOf(name);
        return i?.phase === phase ? i : undefined;
      });

      const quick = await reached('quick', 'done');
      assert.equal(quick.bytesDone, 1024, "a finished image's bytes are its point's");
      // The run itself only knows the plan until the child returns; the child knows its step.
      const fromRun = (await run.query<RunProgress>(PROGRESS_QUERY)).images.find((i) => i.image === 'slow');
      assert.deepEqual(fromRun, { pool: 'rbd', image: 'slow', phase: 'planned', type: 'full', bytesDone: 0, bytesExpected: 1 << 30 });
      await reached('slow', 'snapshot');

      snapshotGate.open();
      const exporting = await waitFor('the heartbeat to reach status', async () => {
        const i = await phaseOf('slow');
        return i?.phase === 'exporting' && i.bytesDone === 4096 ? i : undefined;
      });
      assert.equal(exporting.exportStep, 'export');
      assert.equal(exporting.bytesExpected, 1 << 30);
      const mid = await runStatus(run);
      assert.equal(mid.status, 'RUNNING');
      assert.equal(mid.progress.phase, 'backing up');
      assert.deepEqual(mid.totals.byPhase, { exporting: 1, done: 1 });
      assert.equal(mid.totals.bytesDone, 4096 + 1024);

      const childId = imageWorkflowId(cluster, image('slow'));
      const before = (await historyOf(env.client, childId)).length;
      const runBefore = (await historyOf(env.client, run.workflowId)).length;
      for (let k = 0; k < 5; k++) await runStatus(run);
      assert.equal((await historyOf(env.client, childId)).length, before, 'queries add no event to the image');
      assert.equal((await historyOf(env.client, run.workflowId)).length, runBefore, 'queries add no event to the run');

      exportGate.open();
      const report = await run.result();
      assert.equal(report.status, 'ok');
      const end = await runStatus(run);
      assert.equal(end.status, 'COMPLETED');
      assert.equal(end.progress.phase, 'done');
      assert.deepEqual(end.totals.byPhase, { done: 2 });
      assert.equal(end.progress.reportFile, 'fake-destination/report.json');
    });
  });

  test('501 images are split into two imageBatch children; 500 are started by the run itself', { timeout: 60_000 }, async () => {
    const config = fakeConfig('wf-split');
    // The decision is the run's fan-out, read from its history; 1,001 image backups run to the end
    // would take most of a minute on a small machine. So each image stops at its first step until
    // the worker shuts down; what is left stays on this test's queue, which nothing polls after it.
    const fakes = fakeActivities(config, {
      createSnapshot: async () => {
        await Context.current().cancelled;
      },
    });
    const images = (n: number) => Array.from({ length: n }, (_, i) => image(`img-${String(i).padStart(3, '0')}`));
    const children = async (workflowId: string) =>
      waitFor(`children started by ${workflowId}`, async () => {
        // A batch's start is recorded in its parent before the batch itself exists: not yet.
        const history = await historyOf(env.client, workflowId).catch((e: unknown) => {
          if (/NOT_FOUND/.test(String((e as Error).message))) return undefined;
          throw e;
        });
        if (!history) return undefined;
        const started = history.flatMap((e) => {
          const a = e.startChildWorkflowExecutionInitiatedEventAttributes;
          return a ? [{ type: a.workflowType?.name, id: a.workflowId }] : [];
        });
        // A fan-out is one workflow task's commands: its children appear in the history together.
        return started.length ? started : undefined;
      });
    await withWorkers(env, config, fakes.activities, async () => {
      for (const [id, n] of [['wf-split-501', 501], ['wf-split-500', 500]] as const) {
        await env.client.workflow.start<typeof workflows.backupRun>('backupRun', {
          taskQueue: 'wf-split',
          workflowId: id,
          args: [{ cluster: id, images: images(n), asOf: AS_OF, backupName: 'split' }],
        });
      }
      assert.deepEqual(await children('wf-split-501'), [
        { type: 'imageBatch', id: 'wf-split-501/batch-0' },
        { type: 'imageBatch', id: 'wf-split-501/batch-1' },
      ]);
      const batch0 = await children('wf-split-501/batch-0');
      const batch1 = await children('wf-split-501/batch-1');
      assert.equal(batch0.length, 500);
      assert.deepEqual(batch1.map((c) => c.type), ['imageBackup'], 'the second batch holds the one image past 500');
      const ids = new Set([...batch0, ...batch1].map((c) => c.id));
      assert.equal(ids.size, 501, 'every image in exactly one batch');
      assert.ok(images(501).every((i) => ids.has(imageWorkflowId('wf-split-501', i))));

      const whole = await children('wf-split-500');
      assert.equal(whole.length, 500);
      assert.ok(whole.every((c) => c.type === 'imageBackup'), 'no batch child for 500 images');
    });
  });

  test('a restore whose diff fails removes what it made and fails', { timeout: 60_000 }, async () => {
    const config = fakeConfig('wf-restore');
    const detail: FailureDetail = { message: 'rbd import-diff failed: (22) Invalid argument', command: 'rbd import-diff - rbd/x', exitCode: 22, stderr: 'rbd: import-diff failed' };
    const fakes = fakeActivities(config, {
      applyDiff: async () => {
        throw rbdFailure(detail);
      },
    });
    const target = image('restored');
    await withWorkers(env, config, fakes.activities, async () => {
      const run = await env.client.workflow.start<typeof workflows.restoreImage>('restoreImage', {
        taskQueue: 'wf-restore',
        workflowId: 'wf-restore-run',
        args: [{ cluster: 'wf-restore', source: image('src'), at: '2026-11-23T01:00:00Z', target, force: false, keepSnapshots: false }],
      });
      const failure = await failureOf(run.result());
      assert.ok(failure.cause instanceof ActivityFailure, String(failure.cause));
      assert.ok(failure.cause.cause instanceof ApplicationFailure);
      assert.equal(failure.cause.cause.message, detail.message);
      assert.deepEqual(fakes.inputs('discardRestore'), [{ target }]);
      assert.equal(fakes.inputs('finishRestore').length, 0);

      const events = await historyOf(env.client, run.workflowId);
      assert.deepEqual(scheduledActivities(events).map((a) => a.type), ['planRestore', 'importFull', 'applyDiff', 'discardRestore']);
      assert.equal(eventTypes(events).at(-1), 'WORKFLOW_EXECUTION_FAILED');
    });
  });

  test("a restore from another cluster's backups reads them in every step and issues the same commands", { timeout: 60_000 }, async () => {
    const config = fakeConfig('wf-dr');
    const fakes = fakeActivities(config);
    const source = image('lost');
    await withWorkers(env, config, fakes.activities, async () => {
      const run = await env.client.workflow.start<typeof workflows.restoreImage>('restoreImage', {
        taskQueue: 'wf-dr',
        workflowId: 'wf-dr-run',
        args: [{ cluster: 'wf-dr', fromCluster: 'site-a', source, at: '2026-11-23T01:00:00Z', target: source, force: false, keepSnapshots: false }],
      });
      const r = await run.result();
      assert.equal(r.fromCluster, 'site-a');
      assert.deepEqual(r.target, source, 'restored under its own name');
      const steps = [...fakes.inputs('importFull'), ...fakes.inputs('applyDiff')] as { cluster: string; fromCluster?: string }[];
      assert.equal(steps.length, 2);
      assert.ok(steps.every((x) => x.cluster === 'wf-dr' && x.fromCluster === 'site-a'), JSON.stringify(steps));
      const events = await historyOf(env.client, run.workflowId);
      assert.deepEqual(scheduledActivities(events).map((a) => a.type), ['planRestore', 'importFull', 'applyDiff', 'finishRestore']);
    });
  });

  test('what a restore reports as the image sha256: read back only with checkImage, compared with a full alone', { timeout: 60_000 }, async () => {
    const config = fakeConfig('wf-sum');
    const READ = 'b'.repeat(64);
    const cases = [
      { name: 'full alone', chain: fakeChain.slice(0, 1), checkImage: false, reference: undefined, want: { sha256: fakeChain[0]!.sha256, sha256From: 'file' } },
      { name: 'full alone, checked', chain: fakeChain.slice(0, 1), checkImage: true, reference: { file: fakeChain[0]!.file, sha256: fakeChain[0]!.sha256 }, want: { sha256: READ, sha256From: 'image' } },
      { name: 'with a diff', chain: fakeChain, checkImage: false, reference: undefined, want: {} },
      { name: 'with a diff, checked', chain: fakeChain, checkImage: true, reference: undefined, want: { sha256: READ, sha256From: 'image' } },
    ];
    for (const [i, c] of cases.entries()) {
      const fakes = fakeActivities(config, (d) => ({
        planRestore: async (input) => ({ ...(await d.planRestore(input)), chain: c.chain }),
        // As the real step: the image is read only when asked, '' otherwise.
        finishRestore: async (input) => (input.checkImage ? READ : ''),
      }));
      await withWorkers(env, config, fakes.activities, async () => {
        const r = await env.client.workflow.execute<typeof workflows.restoreImage>('restoreImage', {
          taskQueue: 'wf-sum',
          workflowId: `wf-sum-${i}`,
          args: [{ cluster: 'wf-sum', source: image('src'), at: '2026-11-23T01:00:00Z', force: false, keepSnapshots: false, ...(c.checkImage ? { checkImage: true } : {}) }],
        });
        const finish = fakes.inputs('finishRestore') as { checkImage?: boolean; reference?: unknown }[];
        assert.equal(finish.length, 1, c.name);
        assert.equal(finish[0]!.checkImage, c.checkImage ? true : undefined, c.name);
        assert.deepEqual(finish[0]!.reference, c.reference, c.name);
        assert.deepEqual({ sha256: r.sha256, sha256From: r.sha256From }, { sha256: undefined, sha256From: undefined, ...c.want }, c.name);
      });
    }
  });

  // One input the contract refuses per workflow type; a new workflow fails the coverage check below.
  const refused: Record<keyof typeof workflows, unknown> = {
    backupRun: { cluster: 'ceph', policy: {} },
    imageBatch: [{ pool: 'rbd', image: 'a' }],
    imageBackup: { pool: 'rbd', image: 'a' },
    restoreImage: { cluster: 'ceph', source: image('a'), at: 'latest', force: false, keepSnapshots: false, keyring: 'k' },
    deleteBackup: { cluster: 'ceph', image: image('a') },
    verifyRun: { cluster: 'ceph' },
    verifyBatch: { cluster: 'ceph', images: [image('a')], explicit: true, deep: false, destination: '../elsewhere' },
    verifyImage: { cluster: 'a b', image: image('a'), explicit: true, deep: false },
    rebuildCatalog: { cluster: 'ceph', image: image('a') },
    rebuildCatalogs: { cluster: 'ceph', destination: '../elsewhere' },
    planBackup: { cluster: 'ceph', images: [image('a')], destination: '/mnt/elsewhere' },
    describeCluster: { cluster: 'ceph', keyring: '/etc/ceph/keyring' },
  };

  test('every workflow type has an invalid-input case', async () => {
    const types = Object.keys(await import('../../workflows/index.js')).sort();
    assert.deepEqual(Object.keys(refused).sort(), types);
  });

  test('invalid input fails the workflow with a non-retryable InputError, not a failing workflow task', { timeout: 60_000 }, async () => {
    const config = fakeConfig('wf-input');
    const fakes = fakeActivities(config);
    await withWorkers(env, config, fakes.activities, async () => {
      await Promise.all(
        Object.entries(refused).map(async ([type, input]) => {
          const run = await env.client.workflow.start(type, { taskQueue: 'wf-input', workflowId: `wf-input-${type}`, args: [input] });
          const failure = await failureOf(run.result());
          assert.ok(failure.cause instanceof ApplicationFailure, `${type}: ${String(failure.cause)}`);
          assert.equal(failure.cause.type, INPUT_ERROR, type);
          assert.equal(failure.cause.nonRetryable, true, type);
          assert.match(failure.cause.message, new RegExp(`^${type} input `));
          const types = eventTypes(await historyOf(env.client, run.workflowId));
          assert.equal(types.filter((t) => t === 'WORKFLOW_TASK_FAILED').length, 0, `${type}: ${types.join(' ')}`);
          assert.deepEqual(types.filter((t) => t === 'ACTIVITY_TASK_SCHEDULED' || t === 'START_CHILD_WORKFLOW_EXECUTION_INITIATED'), [], type);
          assert.equal(types.at(-1), 'WORKFLOW_EXECUTION_FAILED', type);
        }),
      );
      assert.deepEqual(fakes.calls, [], 'no activity ran');
    });
  });
});
