/**
 * The worker's metrics endpoint. The Temporal runtime serves Prometheus text on
 * `metrics.listen` at /metrics: the SDK's own worker and client metrics (prefixed `temporal_`)
 * and rbd-backup's (`rbd_backup_`, src/metrics/metrics.ts), which workflows record through the
 * same runtime. One runtime per process, installed once before any worker or connection exists:
 * so the endpoint is set up here, at start-up, or not at all.
 */
import type { Logger } from 'pino';
import { Runtime, type TelemetryOptions } from '@temporalio/worker';
import type { MetricMeter } from '@temporalio/common';
import { Catalog } from '../src/catalog/catalog.js';
import { destinations, InputError, type Config } from '../src/config/config.js';
import { DURATION_BUCKETS_SECONDS, METRICS, lastSuccessOf, recordLastSuccess } from '../src/metrics/metrics.js';
import { imageKey, type ImageRef } from '../src/names/names.js';
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

/** Catalogs read at once while seeding: enough to hide latency, few enough not to crowd the disk. */
const SEED_READS = 8;

/**
 * The last-success gauge, seeded at start-up from the catalogs of every destination this worker
 * writes to, so that it is not empty from a restart until each image's next backup. It goes into
 * the series the imageBackup workflow sets (same labels and tags), which the next backup then
 * overwrites; it runs before the workers poll, so no newer value can be overwritten by it. One
 * read per image catalog; an unreadable catalog or destination is logged and skipped.
 */
export async function seedLastSuccess(cfg: Config, logger: Logger, meter: MetricMeter = Runtime.instance().metricMeter): Promise<{ images: number; unreadable: number }> {
  const newest = new Map<string, { ref: ImageRef; seconds: number }>();
  let unreadable = 0;
  for (const [key, path] of Object.entries(destinations(cfg))) {
    const catalog = new Catalog(path, cfg.cluster.name);
    let refs: ImageRef[];
    try {
      refs = await catalog.images();
    } catch (e) {
      unreadable++;
      logger.warn({ destination: key, err: (e as Error).message }, 'last-success gauge: cannot list the backups of this destination; its images are not seeded');
      continue;
    }
    for (let i = 0; i < refs.length; i += SEED_READS) {
      await Promise.all(
        refs.slice(i, i + SEED_READS).map(async (ref) => {
          try {
            const t = lastSuccessOf(await catalog.load(ref));
            const k = imageKey(ref);
            if (t !== undefined && t > (newest.get(k)?.seconds ?? -Infinity)) newest.set(k, { ref, seconds: t });
          } catch (e) {
            unreadable++;
            logger.warn({ destination: key, image: imageKey(ref), err: (e as Error).message }, 'last-success gauge: cannot read the catalog; this image is not seeded');
          }
        }),
      );
    }
  }
  const tagged = meter.withTags({ namespace: cfg.temporal.namespace, taskQueue: cfg.temporal.task_queue, workflowType: 'imageBackup' });
  for (const { ref, seconds } of newest.values()) recordLastSuccess(tagged, { pool: ref.pool, image: ref.image }, seconds);
  return { images: newest.size, unreadable };
}
