// Starts a backup run of some images and waits for its report.
//   node examples/start-backup-run.mjs [--name NAME] [--detach] POOL/IMAGE...
// Submitting the same request under the same name again attaches to that run instead of starting
// a second one. --detach prints the run and returns at once (watch it with get-progress.mjs).
import { parseArgs } from 'node:util';
import { openClient, startBackupRun } from 'rbd-backup/client';

const { values, positionals } = parseArgs({ options: { name: { type: 'string' }, detach: { type: 'boolean' } }, allowPositionals: true });
const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
const taskQueue = process.env.RBD_BACKUP_TASK_QUEUE ?? 'rbd-backup';
const cluster = process.env.RBD_BACKUP_CLUSTER ?? 'ceph';

const images = positionals.map((spec) => {
  const [pool, image] = spec.split('/');
  return { pool, image };
});

const { client, close } = await openClient({ address, namespace });
try {
  const run = await startBackupRun(client, taskQueue, { cluster, ...(images.length ? { images } : {}), ...(values.name ? { backupName: values.name } : {}) });
  console.log(`${run.attached ? 'attached to' : 'started'} ${run.workflowId} (backup ${run.backupName})`);
  if (!values.detach) {
    const report = await run.result();
    for (const i of report.images) {
      const what = i.status === 'ok' ? `${i.type} ${i.bytes} bytes sha256=${i.sha256}` : (i.reason ?? i.error?.message ?? '');
      console.log(`${i.pool}/${i.image}: ${i.status} ${what}`);
    }
    console.log(`backup ${report.backupName}: ${report.status}`);
  }
} finally {
  await close();
}
