/**
 * The typed client API other services use to trigger runs, and the connection helpers the CLI and
 * the worker share. Connecting fails within seconds (not a hang) when the server is unreachable.
 */
import { createHash } from 'node:crypto';
import { Client, Connection, WorkflowIdReusePolicy, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { InputError } from '../config/config.js';
import proto from '@temporalio/proto';
const { temporal } = proto;
type IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;
import type { BackupReport, BackupRunInput, BackupPolicy } from '../contract/backup.js';
import { runWorkflowId } from '../contract/backup.js';
import { CUSTOM_SEARCH_ATTRIBUTES, RBD_BACKUP_KIND, RBD_BACKUP_NAME } from '../contract/search-attributes.js';
import { compactUtc } from '../names/names.js';
import type { Config } from '../config/config.js';

export class UnreachableError extends Error {
  override name = 'UnreachableError';
}

export async function connect(address: string, timeoutMs = 5000): Promise<Connection> {
  try {
    return await Connection.connect({ address, connectTimeout: timeoutMs });
  } catch (e) {
    throw new UnreachableError(`Temporal server at ${address} is unreachable: ${(e as Error).message.split('\n')[0]}`);
  }
}

export function policyOf(cfg: Config): BackupPolicy {
  const b = cfg.backup;
  return {
    destination: b.destination,
    concurrency: b.concurrency,
    snapshotRetainCount: b.snapshot_retain_count,
    circleRetainCount: b.circle_retain_count,
    maxIncremental: b.max_incremental,
    fullWeekdays: b.full_weekdays,
    incrementalWeekdays: b.incremental_weekdays,
    timezone: b.timezone,
    copyKeyring: b.copy_keyring,
    spaceMargin: b.space_margin,
  };
}

const KEYWORD = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
const KEYWORD_LIST = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST;

/** Registers our search attributes when missing, so a plain server (compose, prod) works too. */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const have = await connection.operatorService.listSearchAttributes({ namespace });
  const missing: Record<string, IndexedValueType> = {};
  for (const k of CUSTOM_SEARCH_ATTRIBUTES) {
    if (!have.customAttributes?.[k.name]) missing[k.name] = k.type === 'KEYWORD_LIST' ? KEYWORD_LIST : KEYWORD;
  }
  if (Object.keys(missing).length) await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
}

export interface StartedRun {
  workflowId: string;
  runId: string;
  /** True when this input had been submitted before and we attached to that run. */
  attached: boolean;
  result(): Promise<BackupReport>;
}

/**
 * Starts a backup run. Its workflow ID is derived from the backup name, so submitting the same
 * input again attaches to the run already made (idempotent, same report), while a different input
 * under a used name is refused. A failed run may be started again under its name; it resumes,
 * since every step of it is idempotent.
 */
export async function startBackupRun(client: Client, taskQueue: string, input: BackupRunInput, now = new Date()): Promise<StartedRun> {
  const runTime = new Date(Math.floor((input.asOf ? new Date(input.asOf) : now).getTime() / 1000) * 1000);
  const backupName = input.backupName ?? compactUtc(runTime);
  const workflowId = runWorkflowId(input.cluster, backupName);
  const args: BackupRunInput = { ...input, backupName, asOf: runTime.toISOString() };
  const digest = createHash('sha256').update(JSON.stringify(args)).digest('hex');
  try {
    const handle = await client.workflow.start('backupRun', {
      taskQueue,
      workflowId,
      args: [args],
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
      memo: { inputDigest: digest },
      typedSearchAttributes: [
        { key: RBD_BACKUP_KIND, value: 'backup-run' },
        { key: RBD_BACKUP_NAME, value: backupName },
      ],
    });
    return { workflowId, runId: handle.firstExecutionRunId, attached: false, result: () => handle.result() as Promise<BackupReport> };
  } catch (e) {
    if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    const handle = client.workflow.getHandle(workflowId);
    const d = await handle.describe();
    if (d.memo?.inputDigest !== digest) {
      throw new InputError(`backup name ${backupName} is already used by another run (${workflowId}); choose another --backup-name`);
    }
    return { workflowId, runId: d.runId, attached: true, result: () => handle.result() as Promise<BackupReport> };
  }
}
