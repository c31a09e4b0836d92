import { createBackupActivities, type BackupDeps } from './backup.js';

export type ActivityDeps = BackupDeps;

export function createActivities(deps: ActivityDeps) {
  return { ...createBackupActivities(deps) };
}

export type Activities = ReturnType<typeof createActivities>;
