/**
 * Cancelling a backup run and waiting until it has stopped: the exports in flight are killed and
 * their partial files removed, the run's snapshots deleted, and the report written.
 */
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { findRun, runStatus } from './progress.js';

/** The run had already ended: nothing was asked of it. */
export class RunNotRunningError extends Error {
  override name = 'RunNotRunningError';
  constructor(
    readonly workflowId: string,
    readonly status: string,
  ) {
    super(`run ${workflowId} is not running (${status}): nothing to cancel`);
  }
}

export interface CancelOutcome {
  workflowId: string;
  runId: string;
  /** How the run ended: `cancelled`, or `completed`/`failed`/… when it ended before the request took effect. */
  status: string;
  /** `pool/image` of the images this run did not finish. */
  cancelled: string[];
  /** `pool/image` of the images that finished before the cancellation: their points are kept. */
  finished: string[];
  reportFile?: string;
}

/**
 * RUN as `findRun` takes it (a backup name of the cluster, a workflow ID, or none for the newest).
 * Resolves once the run has closed; throws RunNotRunningError for a run that had already ended.
 */
export async function cancelRun(client: Client, cluster: string, run: string | undefined): Promise<CancelOutcome> {
  const handle = await findRun(client, cluster, run);
  const before = await handle.describe();
  if (before.status.name !== 'RUNNING') throw new RunNotRunningError(handle.workflowId, before.status.name.toLowerCase());
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
  return {
    workflowId: handle.workflowId,
    runId: s.runId,
    status: ended,
    cancelled: s.images.filter((i) => i.phase === 'cancelled').map((i) => `${i.pool}/${i.image}`),
    finished: s.images.filter((i) => i.phase === 'done').map((i) => `${i.pool}/${i.image}`),
    ...(s.progress.reportFile ? { reportFile: s.progress.reportFile } : {}),
  };
}
