/**
 * Every child that works on one image runs under the image's workflow ID: Temporal allows one
 * running execution per ID, so backups, restores, verifies, deletes and rebuilds of one image
 * never overlap. A held ID is reported as `busy`, never waited for.
 */
import { ParentClosePolicy, WorkflowIdReusePolicy, isCancellation, startChild, type Workflow } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError, type SearchAttributePair } from '@temporalio/common';
import { imageWorkflowId } from '../src/contract/backup.js';
import { RBD_BACKUP_IMAGES, RBD_BACKUP_KIND } from '../src/contract/search-attributes.js';
import { imageKey, type ImageRef } from '../src/names/names.js';
import { failureDetail } from './failure.js';
import type { FailureDetail } from '../src/contract/backup.js';

export type MutexOutcome<R> = { ok: true; value: R } | { ok: false; busy: true; reason: string } | { ok: false; busy: false; error: FailureDetail; cancelled?: true };

export async function underImageMutex<W extends Workflow>(
  workflow: W,
  o: { cluster: string; image: ImageRef; kind: string; args: Parameters<W>; searchAttributes?: SearchAttributePair[]; step: string; summary?: string },
): Promise<MutexOutcome<Awaited<ReturnType<W>>>> {
  const workflowId = imageWorkflowId(o.cluster, o.image);
  try {
    // One argument each: the generic args type defeats startChild's overloads, not the call.
    const child = await startChild(workflow as unknown as (arg: unknown) => Promise<unknown>, {
      args: o.args as unknown as [unknown],
      workflowId,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      typedSearchAttributes: [{ key: RBD_BACKUP_KIND, value: o.kind }, { key: RBD_BACKUP_IMAGES, value: [imageKey(o.image)] }, ...(o.searchAttributes ?? [])],
      // The line the Web UI lists the child under (user metadata: not compared on replay).
      ...(o.summary ? { staticSummary: o.summary } : {}),
    });
    return { ok: true, value: (await child.result()) as Awaited<ReturnType<W>> };
  } catch (e) {
    if (e instanceof WorkflowExecutionAlreadyStartedError) return { ok: false, busy: true, reason: `another run holds ${workflowId}` };
    // The child has finished its own cleanup by now (WAIT_CANCELLATION_COMPLETED, the default).
    if (isCancellation(e)) return { ok: false, busy: false, error: failureDetail(e, o.step), cancelled: true };
    return { ok: false, busy: false, error: failureDetail(e, o.step) };
  }
}
