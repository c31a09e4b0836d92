// Creates a Temporal schedule that starts a backup run at each slot; the worker reads its image
// list and policy at run time, so the schedule names only the cluster (and images, if given).
//   node examples/create-schedule.mjs NAME (--cron '0 1 * * *' | --every 1d) [--paused] [POOL/IMAGE...]
import { parseArgs } from 'node:util';
import { createSchedule, describeSchedule, openClient } from 'rbd-backup/client';

const { values, positionals } = parseArgs({
  options: { cron: { type: 'string' }, every: { type: 'string' }, paused: { type: 'boolean' }, timezone: { type: 'string', default: 'UTC' } },
  allowPositionals: true,
});
const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
const taskQueue = process.env.RBD_BACKUP_TASK_QUEUE ?? 'rbd-backup';
const cluster = process.env.RBD_BACKUP_CLUSTER ?? 'ceph';

const [name, ...specs] = positionals;
const images = specs.map((spec) => {
  const [pool, image] = spec.split('/');
  return { pool, image };
});
const { client, close } = await openClient({ address, namespace });
try {
  const id = await createSchedule(client, {
    name,
    cluster,
    taskQueue,
    defaultTimezone: values.timezone,
    ...(values.cron ? { cron: values.cron } : {}),
    ...(values.every ? { every: values.every } : {}),
    ...(images.length ? { images } : {}),
    paused: values.paused ?? false,
  });
  const v = await describeSchedule(client, cluster, name);
  console.log(`schedule ${id}: ${v.paused ? 'paused' : 'active'}, ${v.cron ? `cron ${v.cron.join(', ')}` : `every ${v.every?.join(', ')}`} ${v.timezone ?? ''}`);
  console.log(`next runs: ${v.nextRuns.slice(0, 3).join(' ')}`);
} finally {
  await close();
}
