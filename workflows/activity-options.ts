/**
 * How each kind of step may fail, in one place: its timeouts say how soon a dead worker is
 * noticed, its retry policy how often a transient failure is retried. Errors that cannot heal are
 * non-retryable at the source (activities/errors.ts), so attempts are spent only on those that may.
 */
import { proxyActivities, type ActivityInterfaceFor, type ActivityOptions } from '@temporalio/workflow';

const backoff = { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m' };

/**
 * Every activity heartbeats every 2 s while it runs (activities/errors.ts guard), so a worker that
 * dies in any step is noticed within this long and the step retried on another.
 */
const heartbeatTimeout = '30s';

/** Reads and small writes: a snapshot, a catalog change, a report. */
export const shortStep: ActivityOptions = { startToCloseTimeout: '10m', heartbeatTimeout, retry: { ...backoff, maximumAttempts: 5 } };

/** The plan reads every image of the run. */
export const planStep: ActivityOptions = { startToCloseTimeout: '1h', heartbeatTimeout, retry: { ...backoff, maximumAttempts: 5 } };

/**
 * Whole-image reads and writes (import, hashing, removal, rebuild): they may take hours, and they
 * heartbeat, so a crashed worker is still noticed within 20 s.
 */
export const wholeImageStep: ActivityOptions = { startToCloseTimeout: '24h', heartbeatTimeout: '20s', retry: { ...backoff, maximumAttempts: 8 } };

/** Snapshot deletions, one at a time on their own queue. */
export const deletionStep: ActivityOptions = { startToCloseTimeout: '1h', heartbeatTimeout, retry: { ...backoff, maximumAttempts: 5 } };

/** Exports: their timeout follows the image's size (see exportTimeoutSeconds). */
export const exportRetry = { ...backoff, maximumAttempts: 3 };

/**
 * Activities whose calls the Web UI and `temporal workflow show` list under `summary` instead of a
 * bare activity name ("export rbd/vm-1 full 20 GiB"). Options are per proxy, so a call with its
 * own summary gets its own proxy: a plain object, no command. The summary is user metadata on the
 * ActivityTaskScheduled event, not compared on replay.
 */
export function summarized<A>(options: ActivityOptions, summary: string): ActivityInterfaceFor<A> {
  return proxyActivities<A>({ ...options, summary });
}
