import { createBackupActivities, type BackupDeps } from './backup.js';
import { createRestoreActivities } from './restore.js';

export type ActivityDeps = BackupDeps;

export function createActivities(deps: ActivityDeps) {
  return { ...createBackupActivities(deps), ...createRestoreActivities(deps) };
}

export type Activities = ReturnType<typeof createActivities>;
