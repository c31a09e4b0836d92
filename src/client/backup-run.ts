/**
 * The typed client API other services use to trigger backup runs: the same input checks as the
 * workflow's, and the attach / refuse / resume rules of run names.
 */
import { createHash } from 'node:crypto';
import { Client, WorkflowIdReusePolicy, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { InputError } from '../config/config.js';
import type { BackupReport, BackupRunInput } from '../contract/backup.js';
import { DEFAULT_DESTINATION, runWorkflowId } from '../contract/backup.js';
import { backupRunInputSchema, check } from '../contract/schema.js';
import { RBD_BACKUP_KIND, RBD_BACKUP_NAME } from '../contract/search-attributes.js';
import { compactUtc } from '../names/names.js';
import { runSummary } from '../contract/summary.js';

export interface StartedRun {
  workflowId: string;
  runId: string;
  backupName: string;
  /** True when this request had been submitted before and we attached to that run. */
  attached: boolean;
  /** True when an earlier run under this name had failed and this one resumes it. */
  resumed: boolean;
  result(): Promise<BackupReport>;
}

/** What identifies a request: the same request under a name attaches, another one is refused. */
interface RunMemo {
  inputDigest: string;
  asOf: string;
}

const digestOf = (args: BackupRunInput): string =>
  createHash('sha256')
    .update(JSON.stringify([args.cluster, args.images ?? null, args.destination ?? DEFAULT_DESTINATION, args.backupName, args.asOf]))
    .digest('hex');

/** Checks an input against the workflow's own schema, so a caller learns of a bad field at once. */
export function checkRunInput(input: unknown): BackupRunInput {
  const c = check(backupRunInputSchema, input);
  if (!c.ok) throw new InputError(`backup run input ${c.problem}`);
  return c.value;
}

/**
 * Starts a backup run. Its workflow ID is derived from the backup name, so submitting the same
 * request again attaches to the run already made (same report), and a different request under a
 * used name is refused whatever state that run is in. A run that failed, was cancelled or timed
 * out is resumed by submitting its name again: its as-of instant is taken from the first
 * submission, and every step is idempotent.
 */
export async function startBackupRun(client: Client, taskQueue: string, request: BackupRunInput, now = new Date()): Promise<StartedRun> {
  const input = checkRunInput(request);
  const given = input.asOf !== undefined ? new Date(input.asOf) : undefined;
  const backupName = input.backupName ?? compactUtc(new Date(Math.floor((given ?? now).getTime() / 1000) * 1000));
  const workflowId = runWorkflowId(input.cluster, backupName);
  const handle = client.workflow.getHandle(workflowId);
  const submit = (args: BackupRunInput, digest: string, reuse: WorkflowIdReusePolicy) =>
    client.workflow.start('backupRun', {
      taskQueue,
      workflowId,
      args: [args],
      workflowIdReusePolicy: reuse,
      memo: { inputDigest: digest, asOf: args.asOf! } satisfies RunMemo,
      typedSearchAttributes: [
        { key: RBD_BACKUP_KIND, value: 'backup-run' },
        { key: RBD_BACKUP_NAME, value: backupName },
      ],
      // Its plan is not made yet: the run adds the counts as its current details.
      staticSummary: runSummary(backupName, args.images),
    });
  const stamp = (asOf: Date): BackupRunInput => ({ ...input, backupName, asOf: new Date(Math.floor(asOf.getTime() / 1000) * 1000).toISOString() });
  // A name is almost always new: start at once, refusing any earlier run under it, and look at
  // that earlier run (one more round trip) only when there is one.
  {
    const args = stamp(given ?? now);
    try {
      const started = await submit(args, digestOf(args), WorkflowIdReusePolicy.REJECT_DUPLICATE);
      return { workflowId, runId: started.firstExecutionRunId, backupName, attached: false, resumed: false, result: () => started.result() as Promise<BackupReport> };
    } catch (e) {
      if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    }
  }
  for (let attempt = 0; ; attempt++) {
    const previous = await handle.describe().catch((e: unknown) => {
      if (e instanceof WorkflowNotFoundError) return undefined;
      throw e;
    });
    const memo = previous?.memo as Partial<RunMemo> | undefined;
    const asOf = given ?? (memo?.asOf ? new Date(memo.asOf) : now);
    const args = stamp(asOf);
    const digest = digestOf(args);
    if (previous) {
      if (memo?.inputDigest !== digest) {
        throw new InputError(`backup name ${backupName} is already used by another request (${workflowId}, ${previous.status.name.toLowerCase()}); choose another --backup-name`);
      }
      if (previous.status.name === 'RUNNING' || previous.status.name === 'COMPLETED') {
        return { workflowId, runId: previous.runId, backupName, attached: true, resumed: false, result: () => handle.result() as Promise<BackupReport> };
      }
    }
    try {
      const started = await submit(args, digest, WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY);
      return { workflowId, runId: started.firstExecutionRunId, backupName, attached: false, resumed: !!previous, result: () => started.result() as Promise<BackupReport> };
    } catch (e) {
      // Someone started it between our look and our start: look again, once.
      if (!(e instanceof WorkflowExecutionAlreadyStartedError) || attempt > 0) throw e;
    }
  }
}

