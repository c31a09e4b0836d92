// Cancels a running backup run and waits until it has stopped: exports in flight are killed and
// their partial files removed, the run's snapshots deleted; finished images keep their points.
//   node examples/cancel-run.mjs BACKUP_NAME
import { RunNotRunningError, cancelRun, openClient } from 'rbd-backup/client';

const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
const cluster = process.env.RBD_BACKUP_CLUSTER ?? 'ceph';

const { client, close } = await openClient({ address, namespace });
try {
  const c = await cancelRun(client, cluster, process.argv[2]);
  console.log(`${c.workflowId}: ${c.status}`);
  console.log(`cancelled: ${c.cancelled.join(' ') || 'none'}`);
  console.log(`finished: ${c.finished.join(' ') || 'none'}`);
} catch (e) {
  if (!(e instanceof RunNotRunningError)) throw e;
  console.error(e.message);
  process.exitCode = 1;
} finally {
  await close();
}
