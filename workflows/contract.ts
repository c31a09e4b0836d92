/**
 * Every workflow's entry: its input is checked against the shared schema before anything runs, and
 * no plain Error escapes. Temporal retries a workflow *task* that throws a plain Error forever (the
 * caller waits forever too); a contract violation or a bug must instead fail the run, visibly.
 */
import { ApplicationFailure, TemporalFailure, WorkflowError, isCancellation } from '@temporalio/workflow';
import type { z } from 'zod';
import { INPUT_ERROR } from '../src/contract/backup.js';
import { check } from '../src/contract/schema.js';

/** A failure type for bugs: non-retryable, so a run fails once instead of looping. */
export const INTERNAL_ERROR = 'InternalError';

export async function withContract<I, R>(workflow: string, schema: z.ZodType<I>, input: unknown, body: (input: I) => Promise<R>): Promise<R> {
  const c = check(schema, input);
  if (!c.ok) throw ApplicationFailure.create({ type: INPUT_ERROR, nonRetryable: true, message: `${workflow} input ${c.problem}` });
  try {
    return await body(c.value);
  } catch (e) {
    // Temporal's own failures (activity, child, cancellation) and SDK errors such as a determinism
    // violation keep their meaning; anything else is a bug that must end the run, not hang it.
    if (e instanceof TemporalFailure || e instanceof WorkflowError || isCancellation(e)) throw e;
    const err = e instanceof Error ? e : new Error(String(e));
    throw ApplicationFailure.create({ type: INTERNAL_ERROR, nonRetryable: true, message: `${workflow}: ${err.name}: ${err.message}` });
  }
}

/** A refusal from inside a workflow: bad input that retrying cannot change. */
export const refuseInput = (message: string): ApplicationFailure => ApplicationFailure.create({ type: INPUT_ERROR, nonRetryable: true, message });
