/**
 * Every stored history replays against the current workflow code. A failure here means runs that
 * are in flight when this code is deployed would fail with a determinism violation: guard the
 * change with patched() (CONTRIBUTING.md, "Changing a workflow"), don't just re-record.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { historyFile, readHistory, recordedIds, type WorkflowType } from '../harness/histories.js';
import { workflowBundle } from '../harness/workflow-env.js';

describe('stored histories replay against the current workflows', () => {
  let bundle: WorkflowBundle;
  before(async () => {
    bundle = await workflowBundle();
  });

  test('a stored history for every workflow type', async () => {
    const types = Object.keys(await import('../../workflows/index.js')).sort();
    assert.deepEqual(Object.keys(recordedIds).sort(), types, 'a new workflow needs an entry in recordedIds and a recording');
    const missing = types.filter((t) => !existsSync(historyFile(t as WorkflowType)));
    assert.deepEqual(missing, [], 'run `npm run record-histories` to record the missing ones');
  });

  for (const [type, workflowId] of Object.entries(recordedIds) as [WorkflowType, string][]) {
    test(type, async () => {
      await Worker.runReplayHistory({ workflowBundle: bundle, replayName: `replay-${type}` }, readHistory(type), workflowId);
    });
  }
});
