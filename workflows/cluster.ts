/** `show cluster`: the worker's view of its cluster and of the destination's cluster.json. Read-only. */
import type { Activities } from '../activities/index.js';
import type { ClusterFacts, ClusterInput } from '../src/contract/plan.js';
import { clusterInputSchema } from '../src/contract/schema.js';
import { clusterStepSummary } from '../src/contract/summary.js';
import { shortStep, summarized } from './activity-options.js';
import { withContract } from './contract.js';

export function describeCluster(input: ClusterInput): Promise<ClusterFacts> {
  return withContract('describeCluster', clusterInputSchema, input, (i) => summarized<Activities>(shortStep, clusterStepSummary(i.cluster, i.destination)).clusterFacts(i));
}
