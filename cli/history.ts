import { connect } from '../src/client/connection.js';
import { Client } from '@temporalio/client';
import { historyQuery, listHistory, parseLimit, sinceInstant, type HistoryFilter } from '../src/client/history.js';
import { parseImageSpec } from '../src/names/names.js';
import { EXIT_OK, configFrom, printJson } from './common.js';

export interface HistoryOptions {
  config?: string;
  since?: string;
  status?: string;
  limit?: string;
  json?: boolean;
}

export async function historyCommand(image: string | undefined, o: HistoryOptions): Promise<number> {
  const cfg = configFrom(o);
  const filter: HistoryFilter = {
    ...(image !== undefined ? { image: parseImageSpec(image) } : {}),
    ...(o.since !== undefined ? { since: sinceInstant(o.since) } : {}),
    ...(o.status !== undefined ? { status: o.status } : {}),
  };
  const limit = parseLimit(o.limit);
  historyQuery(filter);
  const connection = await connect(cfg.temporal.address);
  try {
    const rows = await listHistory(new Client({ connection, namespace: cfg.temporal.namespace }), filter, limit);
    if (o.json) printJson(rows);
    else if (!rows.length) process.stdout.write('no runs\n');
    else {
      const lines = rows.map((r) => [image !== undefined ? r.kind ?? '-' : null, r.backupName ?? '-', r.startTime, r.closeTime ?? '-', r.status, r.workflowId].filter((x) => x !== null).join('\t'));
      process.stdout.write(lines.join('\n') + '\n');
    }
    return EXIT_OK;
  } finally {
    await connection.close();
  }
}
