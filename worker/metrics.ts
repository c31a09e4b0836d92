/**
 * The worker's metrics endpoint. The Temporal runtime serves Prometheus text on
 * `metrics.listen` at /metrics: the SDK's own worker and client metrics (prefixed `temporal_`)
 * and rbd-backup's (`rbd_backup_`, src/metrics/metrics.ts), which workflows record through the
 * same runtime. One runtime per process, installed once before any worker or connection exists:
 * so the endpoint is set up here, at start-up, or not at all.
 */
import type { Logger } from 'pino';
import type { TelemetryOptions } from '@temporalio/worker';
import { InputError, type Config } from '../src/config/config.js';
import { DURATION_BUCKETS_SECONDS, METRICS } from '../src/metrics/metrics.js';
import { installRuntimeLogger } from './worker.js';

/** The runtime's telemetry for `metrics.listen`, or undefined when metrics are off. */
export function metricsTelemetry(cfg: Config): TelemetryOptions | undefined {
  const listen = cfg.metrics.listen;
  if (!listen) return undefined;
  return {
    metrics: {
      prometheus: {
        bindAddress: listen,
        // The SDK's default buckets are for milliseconds of task latency, not hours of export.
        histogramBucketOverrides: {
          [METRICS.exportDuration.name]: DURATION_BUCKETS_SECONDS,
          [METRICS.restoreDuration.name]: DURATION_BUCKETS_SECONDS,
        },
      },
    },
  };
}

/**
 * Installs the process's Temporal runtime with our logger and, if configured, the metrics
 * endpoint. A port that is taken (or an address this host does not have) is a set-up problem
 * said in one line naming the key, not a runtime stack trace.
 */
export function installRuntime(logger: Logger, cfg: Config): void {
  const telemetry = metricsTelemetry(cfg);
  try {
    installRuntimeLogger(logger, 'WARN', telemetry);
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    if (!telemetry || !/prometheus|address|bind/i.test(msg)) throw e;
    const why = /in use/i.test(msg) ? 'the address is already in use (another worker or program listens there)' : msg.replace(/^.*?:\s*/, '');
    throw new InputError(`metrics.listen: cannot serve metrics on ${cfg.metrics.listen}: ${why}`);
  }
  if (telemetry) logger.info({ metrics: `http://${cfg.metrics.listen}/metrics` }, 'metrics endpoint listening');
}
