// Where a backup run stands: per image its phase and bytes, and the run's totals.
//   node examples/get-progress.mjs [--watch] [BACKUP_NAME]
// Without a name: the newest run. --watch repeats every 2 s until the run has ended.
import { parseArgs } from 'node:util';
import { getProgress, openClient } from 'rbd-backup/client';

const { values, positionals } = parseArgs({ options: { watch: { type: 'boolean' } }, allowPositionals: true });
const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
const cluster = process.env.RBD_BACKUP_CLUSTER ?? 'ceph';

const { client, close } = await openClient({ address, namespace });
try {
  for (;;) {
    const s = await getProgress(client, cluster, positionals[0]);
    console.log(`${s.progress.backupName}: ${s.status.toLowerCase()} (${s.progress.phase})`);
    for (const i of s.images) console.log(`  ${i.pool}/${i.image} ${i.phase} ${i.bytesDone ?? 0}/${i.bytesExpected ?? '?'} bytes`);
    console.log(`  total ${s.totals.bytesDone}/${s.totals.bytesExpected} bytes${s.totals.etaSeconds !== undefined ? `, ETA ${s.totals.etaSeconds} s` : ''}`);
    if (!values.watch || s.status !== 'RUNNING') break;
    await new Promise((r) => setTimeout(r, 2000));
  }
} finally {
  await close();
}
