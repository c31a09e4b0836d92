/**
 * What the worker sees of its cluster, for `show cluster`: read-only, so it may run any time,
 * beside any run. The CLI needs neither Ceph nor the keyring; this is where it asks.
 */
import type { ClusterFacts, ClusterInput } from '../src/contract/plan.js';
import { catalogFor } from './access.js';
import { runActivity } from './errors.js';
import type { BackupDeps } from './backup.js';

export function createClusterActivities(deps: BackupDeps) {
  const { rbd, config } = deps;

  async function clusterFacts(input: ClusterInput): Promise<ClusterFacts> {
    return runActivity(async () => {
      const destination = input.destination ?? 'default';
      const catalog = catalogFor(config, input.cluster, destination);
      const [fsid, monitors, pools, identity] = await Promise.all([rbd.fsid(), rbd.monitors(), rbd.pools(), catalog.readIdentity()]);
      const facts: ClusterFacts = { name: config.cluster.name, fsid, monitors, pools, destination, identityFile: `${catalog.root}/cluster.json` };
      if (identity) {
        facts.identity = identity;
        facts.identityMatches = identity.name === config.cluster.name && identity.fsid === fsid;
      }
      return facts;
    });
  }

  return { clusterFacts };
}
