import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, TemporalFailure } from '@temporalio/workflow';
import type { FailureDetail } from '../src/contract/backup.js';

/** Digs the activity's own failure (with rbd's command and stderr) out of Temporal's wrappers. */
export function failureDetail(e: unknown, step: string): FailureDetail {
  let cause: unknown = e;
  while ((cause instanceof ActivityFailure || cause instanceof ChildWorkflowFailure) && cause.cause) cause = cause.cause;
  if (cause instanceof ApplicationFailure) {
    const d = cause.details?.[0] as FailureDetail | undefined;
    return { ...(d ?? {}), message: `${step}: ${d?.message ?? cause.message}` };
  }
  if (cause instanceof TemporalFailure) return { message: `${step}: ${cause.message}` };
  return { message: `${step}: ${e instanceof Error ? e.message : String(e)}` };
}
