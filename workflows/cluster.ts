/** `show cluster`: the worker's view of its cluster and of the destination's cluster.json. Read-only. */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ClusterFacts, ClusterInput } from '../src/contract/plan.js';
import { clusterInputSchema } from '../src/contract/schema.js';
import { shortStep } from './activity-options.js';
import { withContract } from './contract.js';

const { clusterFacts } = proxyActivities<Activities>(shortStep);

export function describeCluster(input: ClusterInput): Promise<ClusterFacts> {
  return withContract('describeCluster', clusterInputSchema, input, (i) => clusterFacts(i));
}
