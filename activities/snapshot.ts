/** The snapshot step: idempotent, because the snapshot's name derives from the run. */
import { RbdError, EEXIST } from '../src/rbd/rbd.js';
import type { ImagePlan } from '../src/contract/backup.js';
import { runActivity } from './errors.js';
import { stepLogger } from './log.js';
import type { BackupDeps } from './backup.js';

export function createSnapshotActivities(deps: BackupDeps) {
  const { rbd } = deps;
  const log = stepLogger(deps.logger);

  async function createSnapshot(p: Pick<ImagePlan, 'pool' | 'image' | 'snapshot'> & { backupName?: string }): Promise<void> {
    return runActivity(async () => {
      try {
        await rbd.snapCreate(p, p.snapshot);
      } catch (e) {
        // The name is derived from the run, so an existing one is this run's earlier attempt.
        if (!(e instanceof RbdError && e.errno === EEXIST)) throw e;
      }
      log(p, 'snapshot', p.backupName).info({ snapshot: p.snapshot }, 'snapshot taken');
    });
  }

  return { createSnapshot };
}
