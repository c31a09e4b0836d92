import { RunNotRunningError, cancelRun } from '../src/client/cancel.js';
import { EXIT_FAILED, EXIT_OK, configFrom, errorLine, printJson, workflowClient } from './common.js';

export interface CancelOptions {
  config?: string;
  json?: boolean;
}

/**
 * Asks the run to stop and waits until it has (`cancelRun`). Exit 0 only when the run did end
 * cancelled; a run that finished or failed first is exit 1.
 */
export async function cancelCommand(run: string, o: CancelOptions): Promise<number> {
  const cfg = configFrom(o);
  const { client, close } = await workflowClient(cfg);
  try {
    let c;
    try {
      c = await cancelRun(client, cfg.cluster.name, run);
    } catch (e) {
      if (!(e instanceof RunNotRunningError)) throw e;
      errorLine(e.message);
      return EXIT_FAILED;
    }
    if (o.json) printJson({ workflowId: c.workflowId, runId: c.runId, status: c.status, cancelled: c.cancelled, finished: c.finished, reportFile: c.reportFile ?? null });
    else {
      process.stdout.write(`run ${c.workflowId}: ${c.status}\n`);
      process.stdout.write(`  cancelled: ${c.cancelled.length ? c.cancelled.join(', ') : 'none'}\n`);
      process.stdout.write(`  finished (points kept): ${c.finished.length ? c.finished.join(', ') : 'none'}\n`);
      if (c.reportFile) process.stdout.write(`report: ${c.reportFile}\n`);
    }
    if (c.status !== 'cancelled') {
      errorLine(`run ${c.workflowId} ended ${c.status} before the cancellation took effect`);
      return EXIT_FAILED;
    }
    return EXIT_OK;
  } finally {
    await close();
  }
}
