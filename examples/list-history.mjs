// Runs from Temporal visibility, newest first: all backup runs, or everything done to one image.
//   node examples/list-history.mjs [--status completed|failed|cancelled|...] [--since 2026-11-01T00:00:00Z] [POOL/IMAGE]
import { parseArgs } from 'node:util';
import { listHistory, openClient } from 'rbd-backup/client';

const { values, positionals } = parseArgs({ options: { status: { type: 'string' }, since: { type: 'string' } }, allowPositionals: true });
const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';

const [pool, image] = positionals[0]?.split('/') ?? [];
const { client, close } = await openClient({ address, namespace });
try {
  const rows = await listHistory(
    client,
    { ...(pool ? { image: { pool, image } } : {}), ...(values.status ? { status: values.status } : {}), ...(values.since ? { since: new Date(values.since) } : {}) },
    20,
  );
  for (const r of rows) console.log(`${r.startTime} ${r.kind ?? '-'} ${r.backupName ?? '-'} ${r.status} ${r.workflowId}`);
  if (!rows.length) console.log('no runs');
} finally {
  await close();
}
