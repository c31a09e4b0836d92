/**
 * Delete a whole circle, or the newest point of a circle, under the image's own workflow ID (the
 * mutex every backup run also takes). A middle point is refused: it would break the chain.
 */
import type { Activities } from '../activities/index.js';
import { deleteInputSchema } from '../src/contract/schema.js';
import type { DeleteInput, DeleteResult } from '../src/contract/restore.js';
import { withContract } from './contract.js';
import { shortStep, summarized } from './activity-options.js';
import { deleteSummary } from '../src/contract/summary.js';

export function deleteBackup(input: DeleteInput): Promise<DeleteResult> {
  return withContract('deleteBackup', deleteInputSchema, input, (i) => summarized<Activities>(shortStep, deleteSummary(i.image, i.circle, i.point)).deletePoints(i));
}
