/**
 * Metrics, the pure parts: `metrics.listen` validation, what each result records (on a meter that
 * keeps what it is given), the runtime telemetry the worker installs, and the docs: every metric
 * documented with its type and labels, and the example alert rules parse and use only metrics
 * that exist.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { parse } from 'yaml';
import type { MetricCounter, MetricGauge, MetricHistogram, MetricMeter, MetricTags } from '@temporalio/common';
import { listenProblem } from '../../src/config/listen.js';
import { InputError, loadConfig } from '../../src/config/config.js';
import { METRICS, lastSuccessOf, recordBackupRun, recordImageBackup, recordRestore, recordVerify, verifyProblemCount } from '../../src/metrics/metrics.js';
import { Catalog } from '../../src/catalog/catalog.js';
import { configSchema } from '../../src/config/config.js';
import { point, snap, withPoints } from './catalog-fixtures.js';
import type { ImageResult } from '../../src/contract/backup.js';
import type { ImageVerification } from '../../src/contract/restore.js';
import { metricsTelemetry, seedLastSuccess } from '../../worker/metrics.js';
import type { Logger } from 'pino';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'rbd-backup-metrics-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('metrics.listen', () => {
  const good = ['127.0.0.1:9464', '0.0.0.0:1', '[::1]:9464', '[::]:65535', '10.1.2.3:80'];
  const bad: [string, RegExp][] = [
    ['localhost:9464', /not a name/],
    ['9464', /is not IP:PORT/],
    [':9464', /not a name/],
    ['127.0.0.1', /is not IP:PORT/],
    ['127.0.0.1:', /port must be a number/],
    ['127.0.0.1:0', /port must be a number from 1 to 65535/],
    ['127.0.0.1:65536', /port must be a number from 1 to 65535/],
    ['127.0.0.1:94a', /port must be a number/],
    ['::1:9464', /is not IP:PORT/],
    ['[127.0.0.1]:9464', /not a name/],
    ['256.0.0.1:9464', /not a name/],
    ['http://127.0.0.1:9464', /is not IP:PORT/],
  ];
  for (const s of good) test(`${s} is accepted`, () => assert.equal(listenProblem(s), undefined));
  for (const [s, why] of bad) test(`${s} is refused`, () => assert.match(listenProblem(s) ?? 'accepted', why));

  const MIN = 'cluster: {}\nbackup:\n  destination: /srv/backup\n';
  test('off by default; a given address is kept', () => {
    const f = join(tmp, 'ok.yaml');
    writeFileSync(f, MIN);
    assert.deepEqual(loadConfig(f).metrics, {});
    writeFileSync(f, `${MIN}metrics:\n  listen: 127.0.0.1:9464\n`);
    assert.equal(loadConfig(f).metrics.listen, '127.0.0.1:9464');
  });
  test('a bad address is one line naming the file and the key', () => {
    const f = join(tmp, 'bad.yaml');
    writeFileSync(f, `${MIN}metrics:\n  listen: localhost:9464\n`);
    assert.throws(
      () => loadConfig(f),
      (e: unknown) => e instanceof InputError && (e as Error).message.startsWith(`${f}: metrics.listen: "localhost:9464": the host must be`) && !(e as Error).message.includes('\n'),
    );
    writeFileSync(f, `${MIN}metrics:\n  port: 9464\n`);
    assert.throws(() => loadConfig(f), /metrics: unknown key\(s\) "port"/);
  });
});

/** A meter that keeps every value it is given, by metric and labels. */
function recordingMeter() {
  const seen: { name: string; kind: string; value: number; tags: MetricTags }[] = [];
  const meter = {
    createCounter: (name: string) => ({ add: (value: number, tags: MetricTags = {}) => seen.push({ name, kind: 'counter', value, tags }) }) as unknown as MetricCounter,
    createHistogram: (name: string) => ({ record: (value: number, tags: MetricTags = {}) => seen.push({ name, kind: 'histogram', value, tags }) }) as unknown as MetricHistogram,
    createGauge: (name: string) => ({ set: (value: number, tags: MetricTags = {}) => seen.push({ name, kind: 'gauge', value, tags }) }) as unknown as MetricGauge,
    withTags: () => meter,
  } as MetricMeter;
  return { meter, seen };
}

const okResult: ImageResult = {
  pool: 'rbd',
  image: 'vm-1',
  status: 'ok',
  type: 'incr',
  bytes: 12345,
  startedAt: '2030-01-01T00:00:00.000Z',
  finishedAt: '2030-01-01T00:01:30.500Z',
  deletedSnapshots: ['s1', 's2'],
  prunedCircles: ['c1'],
  cleanupErrors: [],
};

describe('what a result records', () => {
  test('an ok image: bytes by type, export duration, last success, retention counts', () => {
    const { meter, seen } = recordingMeter();
    recordImageBackup(meter, okResult);
    const where = { pool: 'rbd', image: 'vm-1' };
    assert.deepEqual(seen, [
      { name: METRICS.exportedBytes.name, kind: 'counter', value: 12345, tags: { ...where, type: 'incr' } },
      { name: METRICS.exportDuration.name, kind: 'histogram', value: 90.5, tags: { pool: 'rbd', type: 'incr' } },
      { name: METRICS.lastSuccess.name, kind: 'gauge', value: Date.parse('2030-01-01T00:01:30.500Z') / 1000, tags: where },
      { name: METRICS.snapshotsDeleted.name, kind: 'counter', value: 2, tags: where },
      { name: METRICS.circlesPruned.name, kind: 'counter', value: 1, tags: where },
    ]);
  });
  test('an export that found its point recorded writes no bytes, but the image is backed up', () => {
    const { meter, seen } = recordingMeter();
    recordImageBackup(meter, { ...okResult, startedAt: okResult.finishedAt!, deletedSnapshots: [], prunedCircles: [] });
    assert.deepEqual(seen.map((s) => s.name), [METRICS.lastSuccess.name]);
  });
  test('a failed image: no bytes, no last success; its own snapshot deleted and cleanup errors counted', () => {
    const { meter, seen } = recordingMeter();
    const failed: ImageResult = { pool: 'rbd', image: 'vm-2', status: 'failed', type: 'full', deletedSnapshots: ['s'], cleanupErrors: [{ message: 'x' }] };
    recordImageBackup(meter, failed);
    assert.deepEqual(seen.map((s) => [s.name, s.value]), [
      [METRICS.snapshotsDeleted.name, 1],
      [METRICS.cleanupErrors.name, 1],
    ]);
  });
  test('a run: its status once, each image by outcome', () => {
    const { meter, seen } = recordingMeter();
    recordBackupRun(meter, {
      status: 'partial',
      images: [okResult, { pool: 'rbd', image: 'vm-2', status: 'busy' }, { pool: 'ssd', image: 'db', status: 'failed' }],
    });
    assert.deepEqual(seen.map((s) => [s.name, s.value, s.tags]), [
      [METRICS.runs.name, 1, { status: 'partial' }],
      [METRICS.images.name, 1, { pool: 'rbd', image: 'vm-1', outcome: 'ok' }],
      [METRICS.images.name, 1, { pool: 'rbd', image: 'vm-2', outcome: 'busy' }],
      [METRICS.images.name, 1, { pool: 'ssd', image: 'db', outcome: 'failed' }],
    ]);
  });
  test('a restore: outcome, and the duration only when it succeeded', () => {
    const { meter, seen } = recordingMeter();
    recordRestore(meter, { pool: 'rbd' }, 'ok', { durationMs: 2500 });
    recordRestore(meter, { pool: 'rbd' }, 'failed');
    assert.deepEqual(seen.map((s) => [s.name, s.value, s.tags]), [
      [METRICS.restores.name, 1, { pool: 'rbd', outcome: 'ok' }],
      [METRICS.restoreDuration.name, 2.5, { pool: 'rbd' }],
      [METRICS.restores.name, 1, { pool: 'rbd', outcome: 'failed' }],
    ]);
  });

  const v = (o: Partial<ImageVerification>): ImageVerification => ({ pool: 'rbd', image: 'vm-1', ok: false, files: [], unrestorable: [], chainProblems: [], ...o });
  const cases: [string, ImageVerification, number][] = [
    ['clean', v({ ok: true, files: [{ file: 'a', status: 'ok' }] }), 0],
    ['one corrupt file and the points it breaks', v({ files: [{ file: 'a', status: 'ok' }, { file: 'b', status: 'corrupt' }], unrestorable: [{ backupName: 'x', snapshot: 's', file: 'b' }] }), 1],
    ['a missing and an extra file, a chain problem', v({ files: [{ file: 'a', status: 'missing' }, { file: 'c', status: 'extra' }], chainProblems: ['gap'] }), 3],
    ['a deep mismatch', v({ deep: { point: 'p', snapshot: 's', match: false } }), 1],
    ['no backups of a named image', v({ error: 'no backups' }), 1],
    ['not ok with nothing itemised', v({}), 1],
  ];
  for (const [name, image, want] of cases) test(`verify problems: ${name} → ${want}`, () => assert.equal(verifyProblemCount(image), want));
  test('a verify run: clean and problem images, problems per image', () => {
    const { meter, seen } = recordingMeter();
    recordVerify(meter, { cluster: 'ceph', ok: false, checked: 5, clean: 4, images: [cases[2]![1]] });
    assert.deepEqual(seen.map((s) => [s.name, s.value, s.tags]), [
      [METRICS.verifiedImages.name, 4, { outcome: 'clean' }],
      [METRICS.verifiedImages.name, 1, { outcome: 'problem' }],
      [METRICS.verifyProblems.name, 3, { pool: 'rbd', image: 'vm-1' }],
    ]);
  });
});

describe('the last-success gauge after a restart', () => {
  const at = (p: ReturnType<typeof point>, exportedAt: string) => ({ ...p, exportedAt });
  test('an image without points has no value; otherwise the newest exportedAt of any circle, in seconds', () => {
    assert.equal(lastSuccessOf({ circles: [] }), undefined);
    assert.equal(lastSuccessOf({ circles: [{ name: snap(1), points: [] }] }), undefined);
    const newest = '2026-11-09T01:07:30.250Z';
    const circles = [
      { name: snap(1), points: [at(point(snap(1), snap(1)), '2026-11-01T01:05:00Z'), at(point(snap(1), snap(2), snap(1)), newest)] },
      // A circle sorted later whose point finished earlier (a retried full): the time decides.
      { name: snap(3), points: [at(point(snap(3), snap(3)), '2026-11-03T01:05:00Z')] },
    ];
    assert.equal(lastSuccessOf({ circles }), Date.parse(newest) / 1000);
  });

  test('seeded from every destination, newest per image, into the imageBackup series; an unreadable catalog is logged and skipped', async () => {
    const one = mkdtempSync(join(tmp, 'seed-default-'));
    const two = mkdtempSync(join(tmp, 'seed-offsite-'));
    const cfg = configSchema.parse({
      cluster: { name: 'ceph' },
      backup: { destination: one, destinations: { offsite: two, gone: join(tmp, 'never-mounted') } },
      temporal: { namespace: 'ns1', task_queue: 'tq1' },
      metrics: { listen: '127.0.0.1:9464' },
    });
    const a = { pool: 'rbd', image: 'a' };
    const b = { pool: 'rbd', image: 'b' };
    const broken = { pool: 'rbd', image: 'broken' };
    const local = new Catalog(one, 'ceph');
    const offsite = new Catalog(two, 'ceph');
    await withPoints(local, [[snap(1), at(point(snap(1), snap(1)), '2026-11-01T01:05:00Z')], [snap(1), at(point(snap(1), snap(2), snap(1)), '2026-11-02T01:05:00Z')]], a);
    await withPoints(offsite, [[snap(3), at(point(snap(3), snap(3)), '2026-11-03T01:06:00Z')]], a);
    await withPoints(local, [[snap(4), at(point(snap(4), snap(4)), '2026-11-04T01:05:00Z')]], b);
    await withPoints(local, [[snap(4), at(point(snap(4), snap(4)), '2026-11-04T01:05:00Z')]], broken);
    writeFileSync(local.catalogPath(broken), '{ "format": ');
    // Another cluster's backups in the same destination are not this worker's images.
    await withPoints(new Catalog(one, 'other'), [[snap(5), at(point(snap(5), snap(5)), '2026-11-05T01:05:00Z')]], { pool: 'rbd', image: 'theirs' });

    const seen: { name: string; value: number; tags: MetricTags }[] = [];
    const meterWith = (base: MetricTags): MetricMeter =>
      ({
        createGauge: (name: string) => ({ set: (value: number, tags: MetricTags = {}) => seen.push({ name, value, tags: { ...base, ...tags } }) }) as unknown as MetricGauge,
        withTags: (more: MetricTags) => meterWith({ ...base, ...more }),
      }) as unknown as MetricMeter;
    const warnings: { fields: Record<string, unknown>; msg: string }[] = [];
    const logger = { warn: (fields: Record<string, unknown>, msg: string) => warnings.push({ fields, msg }) } as unknown as Logger;

    const r = await seedLastSuccess(cfg, logger, meterWith({}));
    assert.deepEqual(r, { images: 2, unreadable: 1 });
    const series = { namespace: 'ns1', taskQueue: 'tq1', workflowType: 'imageBackup' };
    assert.deepEqual(
      seen.sort((x, y) => String(x.tags.image).localeCompare(String(y.tags.image))),
      [
        { name: METRICS.lastSuccess.name, value: Date.parse('2026-11-03T01:06:00Z') / 1000, tags: { ...series, pool: 'rbd', image: 'a' } },
        { name: METRICS.lastSuccess.name, value: Date.parse('2026-11-04T01:05:00Z') / 1000, tags: { ...series, pool: 'rbd', image: 'b' } },
      ],
    );
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.deepEqual([warnings[0]!.fields.destination, warnings[0]!.fields.image], ['default', 'rbd/broken']);
    assert.match(String(warnings[0]!.fields.err), /catalog\.json/);
  });
});

describe('the runtime telemetry', () => {
  const cfg = (listen?: string) => loadConfigFrom(listen);
  function loadConfigFrom(listen?: string) {
    const f = join(tmp, `t-${listen ?? 'none'}.yaml`.replace(/[:[\]]/g, '_'));
    writeFileSync(f, `cluster: {}\nbackup:\n  destination: /srv/backup\n${listen ? `metrics:\n  listen: "${listen}"\n` : ''}`);
    return loadConfig(f);
  }
  test('none without metrics.listen', () => assert.equal(metricsTelemetry(cfg()), undefined));
  test('a Prometheus endpoint on the address, with duration buckets in seconds for our histograms', () => {
    const t = metricsTelemetry(cfg('[::1]:9464'));
    const prom = (t?.metrics as { prometheus: { bindAddress: string; histogramBucketOverrides: Record<string, number[]> } }).prometheus;
    assert.equal(prom.bindAddress, '[::1]:9464');
    assert.deepEqual(Object.keys(prom.histogramBucketOverrides).sort(), [METRICS.exportDuration.name, METRICS.restoreDuration.name].sort());
    for (const b of Object.values(prom.histogramBucketOverrides)) assert.ok(b.includes(3600) && b.every((x, i) => i === 0 || x > b[i - 1]!));
  });
});

describe('the docs', () => {
  const defs = Object.values(METRICS);
  test('names are rbd_backup_ and unique; counters end in _total', () => {
    assert.equal(new Set(defs.map((d) => d.name)).size, defs.length);
    for (const d of defs) {
      assert.match(d.name, /^rbd_backup_[a-z_]+$/);
      assert.equal(d.name.endsWith('_total'), d.kind === 'counter', d.name);
      assert.ok(!(d.labels as readonly string[]).some((l) => /run|workflow|snapshot|id/i.test(l)), `${d.name}: no per-run labels`);
    }
  });
  test('docs/metrics.md has a row for each metric with its type and labels, and none other', () => {
    const md = readFileSync(join(repo, 'docs', 'metrics.md'), 'utf8');
    const rows = new Map(
      [...md.matchAll(/^\| `(rbd_backup_[a-z_]+)` \| (\w+) \| ([^|]+) \|/gm)].map((m) => [m[1]!, { kind: m[2]!, labels: [...m[3]!.matchAll(/`(\w+)`/g)].map((x) => x[1]!) }]),
    );
    assert.deepEqual([...rows.keys()].sort(), defs.map((d) => d.name).sort());
    for (const d of defs) assert.deepEqual(rows.get(d.name), { kind: d.kind, labels: [...d.labels] }, d.name);
  });
  test('docs/alerts.yml parses as a rule file whose expressions use only metrics that exist', () => {
    const file = join(repo, 'docs', 'alerts.yml');
    const doc = parse(readFileSync(file, 'utf8')) as { groups: { name: string; rules: { alert: string; expr: string; for?: string; labels?: object; annotations?: object }[] }[] };
    const rules = doc.groups.flatMap((g) => g.rules);
    assert.ok(rules.length >= 3);
    for (const r of rules) {
      assert.match(r.alert, /^RbdBackup[A-Za-z]+$/);
      assert.equal(typeof r.expr, 'string');
      assert.ok(r.annotations && 'summary' in r.annotations, `${r.alert} has a summary`);
      if (r.for !== undefined) assert.match(r.for, /^\d+[smhd]$/);
      // Balanced brackets: a typo there would only show when Prometheus loads the file.
      for (const [o, c] of [['(', ')'], ['[', ']'], ['{', '}']] as const) assert.equal(r.expr.split(o).length, r.expr.split(c).length, `${r.alert}: ${o}${c} balanced`);
      for (const [name] of r.expr.matchAll(/rbd_backup_[a-z_]+/g)) {
        assert.ok(defs.some((d) => name === d.name || (d.kind === 'histogram' && name.startsWith(`${d.name}_`))), `${r.alert} uses unknown metric ${name}`);
      }
    }
    const stale = rules.find((r) => r.expr.includes(METRICS.lastSuccess.name));
    assert.ok(stale && /36 \* 3600/.test(stale.expr), 'an alert on 36 h without a successful backup');
    assert.ok(rules.some((r) => r.expr.includes(METRICS.runs.name) && r.expr.includes('failed')), 'an alert on a failed run');
    // Prometheus' own checker, where it is installed (it is not a dependency of this project).
    const promtool = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    if (!promtool.error) assert.equal(promtool.status, 0, promtool.stdout + promtool.stderr);
  });
});
