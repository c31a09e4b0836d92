import { createBackupActivities, type BackupDeps } from './backup.js';
import { createRestoreActivities } from './restore.js';
import { createCatalogActivities } from './catalog.js';
import { createClusterActivities } from './cluster.js';

export type ActivityDeps = BackupDeps;

export function createActivities(deps: ActivityDeps) {
  return { ...createBackupActivities(deps), ...createRestoreActivities(deps), ...createCatalogActivities(deps), ...createClusterActivities(deps) };
}

export type Activities = ReturnType<typeof createActivities>;
