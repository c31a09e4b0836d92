/**
 * Read-only questions to the worker: a backup run's plan (what it would do today, and why) and
 * the worker's view of its cluster. Each is a short workflow with a fresh ID: nothing is written,
 * no search attribute is set, so neither shows up in `history` or `status`.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { InputError } from '../config/config.js';
import type { BackupRunInput } from '../contract/backup.js';
import type { BackupPlan, ClusterFacts, ClusterInput } from '../contract/plan.js';
import { check, clusterInputSchema } from '../contract/schema.js';
import { clusterSummary, planSummary } from '../contract/summary.js';
import { checkRunInput } from './backup-run.js';

export const planWorkflowId = (cluster: string): string => `rbd-backup-plan/${cluster}/${randomUUID()}`;
export const clusterWorkflowId = (cluster: string): string => `rbd-backup-cluster/${cluster}/${randomUUID()}`;

/** The plan `run` would follow with the same input, without a snapshot or a file. */
export async function planBackupRun(client: Client, taskQueue: string, input: BackupRunInput): Promise<BackupPlan> {
  const i = checkRunInput(input);
  return client.workflow.execute('planBackup', { taskQueue, workflowId: planWorkflowId(i.cluster), args: [i], workflowExecutionTimeout: '2h', staticSummary: planSummary(i.images, i.asOf) });
}

export async function describeCluster(client: Client, taskQueue: string, input: ClusterInput): Promise<ClusterFacts> {
  const c = check(clusterInputSchema, input);
  if (!c.ok) throw new InputError(`cluster input ${c.problem}`);
  return client.workflow.execute('describeCluster', { taskQueue, workflowId: clusterWorkflowId(c.value.cluster), args: [c.value], workflowExecutionTimeout: '15m', staticSummary: clusterSummary(c.value.cluster, c.value.destination) });
}
