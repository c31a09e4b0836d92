import { WorkflowFailedError } from '@temporalio/client';
import { findRun, runStatus } from '../src/client/progress.js';
import { EXIT_FAILED, EXIT_OK, configFrom, errorLine, printJson, workflowClient } from './common.js';

export interface CancelOptions {
  config?: string;
  json?: boolean;
}

/**
 * Asks the run to stop and waits until it has: the exports in flight are killed and their partial
 * files removed, the run's snapshots deleted, and a report written. Exit 0 only when the run did
 * end cancelled; a run that finished or failed first is exit 1.
 */
export async function cancelCommand(run: string, o: CancelOptions): Promise<number> {
  const cfg = configFrom(o);
  const { client, close } = await workflowClient(cfg);
  try {
    const handle = await findRun(client, cfg.cluster.name, run);
    const before = await handle.describe();
    if (before.status.name !== 'RUNNING') {
      errorLine(`run ${handle.workflowId} is not running (${before.status.name.toLowerCase()}): nothing to cancel`);
      return EXIT_FAILED;
    }
    await handle.cancel();
    let ended = 'completed';
    try {
      await handle.result();
    } catch (e) {
      if (!(e instanceof WorkflowFailedError)) throw e;
      ended = (await handle.describe()).status.name.toLowerCase();
    }
    // The closed run still answers its query (replayed by the worker): which images were cancelled.
    const s = await runStatus(handle);
    const cancelled = s.images.filter((i) => i.phase === 'cancelled').map((i) => `${i.pool}/${i.image}`);
    const kept = s.images.filter((i) => i.phase === 'done').map((i) => `${i.pool}/${i.image}`);
    if (o.json) printJson({ workflowId: handle.workflowId, runId: s.runId, status: ended, cancelled, finished: kept, reportFile: s.progress.reportFile ?? null });
    else {
      process.stdout.write(`run ${handle.workflowId}: ${ended}\n`);
      process.stdout.write(`  cancelled: ${cancelled.length ? cancelled.join(', ') : 'none'}\n`);
      process.stdout.write(`  finished (points kept): ${kept.length ? kept.join(', ') : 'none'}\n`);
      if (s.progress.reportFile) process.stdout.write(`report: ${s.progress.reportFile}\n`);
    }
    if (ended !== 'cancelled') {
      errorLine(`run ${handle.workflowId} ended ${ended} before the cancellation took effect`);
      return EXIT_FAILED;
    }
    return EXIT_OK;
  } finally {
    await close();
  }
}
