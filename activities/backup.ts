/**
 * The backup run's activities, one file per step: plan, snapshot, export, retention, report.
 * Every step is idempotent: the workflow may run any of them again after a crash or a timeout.
 */
import type { Logger } from 'pino';
import type { Config } from '../src/config/config.js';
import type { Rbd } from '../src/rbd/rbd.js';
import { createPlanActivities } from './plan.js';
import { createSnapshotActivities } from './snapshot.js';
import { createExportActivities } from './export.js';
import { createRetentionActivities } from './retention.js';
import { createReportActivities } from './report.js';

export type { PlanInput } from './plan.js';

export interface BackupDeps {
  rbd: Rbd;
  /**
   * The worker's own config: the cluster it serves, its destinations, the keyring and the policy
   * defaults. Workflow inputs may only pick among what it allows.
   */
  config: Config;
  logger: Logger;
}

export function createBackupActivities(deps: BackupDeps) {
  return {
    ...createPlanActivities(deps),
    ...createSnapshotActivities(deps),
    ...createExportActivities(deps),
    ...createRetentionActivities(deps),
    ...createReportActivities(deps),
  };
}

export type BackupActivities = ReturnType<typeof createBackupActivities>;
