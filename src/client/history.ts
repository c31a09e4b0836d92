/**
 * Past and running work from Temporal visibility: backup runs, or everything done to one image.
 * Visibility is the record, so this works with no access to the backup destination.
 */
import type { Client } from '@temporalio/client';
import { InputError } from '../config/config.js';
import { instantProblem } from '../contract/schema.js';
import { RBD_BACKUP_KIND, RBD_BACKUP_NAME } from '../contract/search-attributes.js';
import { imageKey, type ImageRef } from '../names/names.js';
import { STATUS_NAMES, parseScheduleDuration, type RunStatus } from './schedule.js';

/** The CLI's words for Temporal's ExecutionStatus values in a query. */
export const HISTORY_STATUSES: Record<string, string> = {
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Canceled',
  terminated: 'Terminated',
  'timed-out': 'TimedOut',
};

/**
 * A string literal of the visibility query language. Our names cannot hold quotes, but this is
 * also the API other services call, so a value is escaped rather than trusted; control characters
 * have no business in a name and are refused.
 */
export function quoteQueryValue(v: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(v)) throw new InputError(`${JSON.stringify(v)} holds a control character`);
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** `--since`: an ISO instant, or a duration back from now. */
export function sinceInstant(s: string, now = new Date()): Date {
  if (/^\d+[smhd]$/.test(s)) return new Date(now.getTime() - parseScheduleDuration('--since', s));
  const problem = instantProblem(s);
  if (problem) throw new InputError(`--since ${problem} (or a duration such as 2h, 7d)`);
  return new Date(s);
}

export interface HistoryFilter {
  image?: ImageRef;
  since?: Date;
  status?: string;
}

export function historyQuery(f: HistoryFilter): string {
  const parts = f.image ? [`RbdBackupImages = ${quoteQueryValue(imageKey(f.image))}`] : [`RbdBackupKind = ${quoteQueryValue('backup-run')}`];
  if (f.since) parts.push(`StartTime >= ${quoteQueryValue(f.since.toISOString())}`);
  if (f.status !== undefined) {
    const s = HISTORY_STATUSES[f.status];
    if (!s) throw new InputError(`--status ${JSON.stringify(f.status)} is not one of ${Object.keys(HISTORY_STATUSES).join(', ')}`);
    parts.push(`ExecutionStatus = ${quoteQueryValue(s)}`);
  }
  return parts.join(' AND ');
}

export interface HistoryRow {
  workflowId: string;
  runId: string;
  kind?: string;
  backupName?: string;
  startTime: string;
  closeTime?: string;
  status: RunStatus;
}

export function parseLimit(s: string | undefined): number {
  if (s === undefined) return 20;
  if (!/^\d{1,6}$/.test(s) || Number(s) === 0) throw new InputError(`--limit ${JSON.stringify(s)} is not a positive number`);
  return Number(s);
}

/** Newest first; at most `limit` rows. */
export async function listHistory(client: Client, f: HistoryFilter, limit: number): Promise<HistoryRow[]> {
  const rows: HistoryRow[] = [];
  for await (const w of client.workflow.list({ query: historyQuery(f), pageSize: Math.min(limit, 1000) })) {
    const kind = w.typedSearchAttributes.get(RBD_BACKUP_KIND);
    const backupName = w.typedSearchAttributes.get(RBD_BACKUP_NAME);
    rows.push({
      workflowId: w.workflowId,
      runId: w.runId,
      ...(kind ? { kind } : {}),
      ...(backupName ? { backupName } : {}),
      startTime: w.startTime.toISOString(),
      ...(w.closeTime ? { closeTime: w.closeTime.toISOString() } : {}),
      status: STATUS_NAMES[w.status.name] ?? 'unknown',
    });
    if (rows.length >= limit) break;
  }
  return rows.sort((a, b) => b.startTime.localeCompare(a.startTime));
}
