/**
 * Delete a whole circle, or the newest point of a circle, under the image's own workflow ID (the
 * mutex every backup run also takes). A middle point is refused: it would break the chain.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { deleteInputSchema } from '../src/contract/schema.js';
import type { DeleteInput, DeleteResult } from '../src/contract/restore.js';
import { withContract } from './contract.js';
import { shortStep } from './activity-options.js';

const { deletePoints } = proxyActivities<Activities>(shortStep);

export function deleteBackup(input: DeleteInput): Promise<DeleteResult> {
  return withContract('deleteBackup', deleteInputSchema, input, (i) => deletePoints(i));
}
