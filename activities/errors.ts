import { ApplicationFailure, Context } from '@temporalio/activity';
import { RbdError } from '../src/rbd/rbd.js';
import { InputError } from '../src/config/config.js';
import { NameError } from '../src/names/names.js';
import { INPUT_ERROR, type FailureDetail } from '../src/contract/backup.js';

/**
 * Activity errors as Temporal failures: rbd's command, exit code and stderr travel as details so the
 * workflow can put them in the report; input problems are never retried.
 */
export function toFailure(e: unknown): unknown {
  if (e instanceof ApplicationFailure) return e;
  if (e instanceof RbdError) {
    const d: FailureDetail = { message: e.message, command: e.command, stderr: e.stderr };
    if (e.exitCode !== undefined) d.exitCode = e.exitCode;
    return ApplicationFailure.create({ message: e.message, type: 'RbdError', details: [d] });
  }
  if (e instanceof InputError || e instanceof NameError) {
    return ApplicationFailure.create({ message: e.message, type: INPUT_ERROR, nonRetryable: true, details: [{ message: e.message }] });
  }
  return e;
}

export async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toFailure(e);
  }
}

/** A refusal that retrying cannot change (bad input, unsafe request): never retried. */
export function refuse(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type, nonRetryable: true, details: [{ message }] });
}

export const HEARTBEAT_MS = 2000;

/**
 * Heartbeats every 2 s while `work` runs, so a dead worker is noticed and cancellation arrives.
 * `details` is read at each beat, so long steps can report their progress.
 */
export async function withHeartbeat<T>(details: () => unknown, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const beat = () => ctx.heartbeat(details());
  const t = setInterval(beat, HEARTBEAT_MS);
  try {
    beat();
    return await work(ctx.cancellationSignal);
  } finally {
    clearInterval(t);
  }
}
