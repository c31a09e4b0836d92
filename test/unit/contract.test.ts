/**
 * The workflow contract as a table: what any Temporal client may send, and what each workflow
 * refuses at entry with a message naming the field. The same schemas run inside the workflows.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  backupRunInputSchema,
  check,
  deleteInputSchema,
  imagePlanSchema,
  instantProblem,
  restoreInputSchema,
  verifyInputSchema,
} from '../../src/contract/schema.js';
import type { z } from 'zod';
import type { BackupPlan, ClusterFacts, ClusterInput, ImagePreview } from '../../src/contract/index.js';

const ok = { cluster: 'ceph', images: [{ pool: 'rbd', image: 'vm-1' }] };

function table(name: string, schema: z.ZodType, cases: { name: string; input: unknown; want: RegExp | 'ok' }[]) {
  describe(name, () => {
    for (const c of cases) {
      test(c.name, () => {
        const r = check(schema, c.input);
        if (c.want === 'ok') assert.ok(r.ok, r.ok ? '' : r.problem);
        else {
          assert.equal(r.ok, false, 'accepted');
          if (!r.ok) {
            assert.match(r.problem, c.want);
            assert.equal(r.problem.includes('\n'), false, 'one line');
          }
        }
      });
    }
  });
}

table('backupRun input', backupRunInputSchema, [
  { name: 'minimal', input: { cluster: 'ceph' }, want: 'ok' },
  { name: 'images with overrides, destination key, name, as-of', input: { ...ok, images: [{ pool: 'rbd', image: 'a', backupType: 'full', maxIncremental: 0, circleRetainCount: 2, snapshotRetainCount: 1 }], destination: 'offsite', backupName: 'nightly-1', asOf: '2026-11-29T01:00:00+01:00' }, want: 'ok' },
  { name: 'a policy (the old contract) is refused', input: { ...ok, policy: { destination: '/etc', copyKeyring: true } }, want: /unknown field\(s\) "policy"/ },
  { name: 'copyKeyring at top level', input: { ...ok, copyKeyring: true }, want: /unknown field\(s\) "copyKeyring"/ },
  { name: 'a time zone is the worker\'s', input: { ...ok, timezone: 'Mars/Base' }, want: /unknown field\(s\) "timezone"/ },
  { name: 'destination as a path', input: { ...ok, destination: '/tmp/x' }, want: /^destination: must be a plain key/ },
  { name: 'destination climbing', input: { ...ok, destination: '../x' }, want: /^destination:/ },
  { name: 'missing cluster', input: { images: ok.images }, want: /^cluster:/ },
  { name: 'cluster with a slash', input: { ...ok, cluster: 'a/b' }, want: /^cluster: cluster name "a\/b"/ },
  { name: 'image name with a space', input: { cluster: 'ceph', images: [{ pool: 'rbd', image: 'a b' }] }, want: /^images\[0\]\.image: image name "a b"/ },
  { name: 'image name starting with a dash', input: { cluster: 'ceph', images: [{ pool: 'rbd', image: '-x' }] }, want: /^images\[0\]\.image:/ },
  { name: 'pool ..', input: { cluster: 'ceph', images: [{ pool: '..', image: 'x' }] }, want: /^images\[0\]\.pool:/ },
  { name: 'unicode image name', input: { cluster: 'ceph', images: [{ pool: 'rbd', image: 'vm-ü' }] }, want: /^images\[0\]\.image:/ },
  { name: 'empty image list', input: { cluster: 'ceph', images: [] }, want: /^images:/ },
  { name: 'an image twice', input: { cluster: 'ceph', images: [{ pool: 'rbd', image: 'a' }, { pool: 'rbd', image: 'a' }] }, want: /^images\[1\]: image rbd\/a is listed twice/ },
  { name: 'negative override', input: { cluster: 'ceph', images: [{ pool: 'rbd', image: 'a', maxIncremental: -1 }] }, want: /^images\[0\]\.maxIncremental:/ },
  { name: 'fractional override', input: { cluster: 'ceph', images: [{ pool: 'rbd', image: 'a', snapshotRetainCount: 1.5 }] }, want: /^images\[0\]\.snapshotRetainCount:/ },
  { name: 'unknown backup type', input: { cluster: 'ceph', images: [{ pool: 'rbd', image: 'a', backupType: 'diff' }] }, want: /^images\[0\]\.backupType:/ },
  { name: 'unknown field in an image', input: { cluster: 'ceph', images: [{ pool: 'rbd', image: 'a', path: '/x' }] }, want: /^images\[0\]: unknown field\(s\) "path"/ },
  { name: 'as-of on February 30th', input: { ...ok, asOf: '2026-02-30T01:00:00Z' }, want: /^asOf: 2026-02-30T01:00:00Z is not a calendar date/ },
  { name: 'as-of without a zone', input: { ...ok, asOf: '2026-11-29T01:00:00' }, want: /^asOf: .*with a zone/ },
  { name: 'as-of hour 24', input: { ...ok, asOf: '2026-11-29T24:00:00Z' }, want: /^asOf: .*not a time of day/ },
  { name: 'backup name with a slash', input: { ...ok, backupName: 'a/b' }, want: /^backupName:/ },
  { name: 'not an object', input: 'run everything', want: /^\(input\):/ },
]);

const plan = {
  pool: 'rbd', image: 'a', cluster: 'ceph', destination: 'default', backupName: 'b', runTime: '2026-11-29T01:00:00.000Z', type: 'full', reason: 'r',
  snapshot: 'rbdbackup-20261129T010000Z', circle: 'rbdbackup-20261129T010000Z', estimatedBytes: 1, sizeBytes: 1, snapshotRetainCount: 1, circleRetainCount: 1,
  exportMinBytesPerSecond: 1, parentWorkflowId: 'p',
};
table('imageBackup input (startable by anyone)', imagePlanSchema, [
  { name: 'a full as backupRun builds it', input: plan, want: 'ok' },
  { name: 'an incr needs fromSnapshot', input: { ...plan, type: 'incr', circle: 'rbdbackup-20261122T010000Z' }, want: /^fromSnapshot:/ },
  { name: 'a full with fromSnapshot', input: { ...plan, fromSnapshot: 'rbdbackup-20261122T010000Z' }, want: /^fromSnapshot:/ },
  { name: 'a foreign snapshot name', input: { ...plan, snapshot: 'important', circle: 'important' }, want: /^snapshot: must be one of our snapshot names/ },
  { name: 'a destination path', input: { ...plan, destination: '/etc' }, want: /^destination:/ },
  { name: "a full's circle elsewhere", input: { ...plan, circle: 'rbdbackup-20261122T010000Z' }, want: /^circle:/ },
]);

table('restoreImage input', restoreInputSchema, [
  { name: 'to a new image', input: { cluster: 'ceph', source: { pool: 'rbd', image: 'a' }, at: '2026-11-29T01:00:00Z', target: { pool: 'rbd', image: 'b' }, force: false, keepSnapshots: false }, want: 'ok' },
  { name: 'target equal to source', input: { cluster: 'ceph', source: { pool: 'rbd', image: 'a' }, at: 'x', target: { pool: 'rbd', image: 'a' }, force: false, keepSnapshots: false }, want: /^target: the restore target must not be the source/ },
  { name: 'target equal to source with force', input: { cluster: 'ceph', source: { pool: 'rbd', image: 'a' }, at: 'x', target: { pool: 'rbd', image: 'a' }, force: true, keepSnapshots: false }, want: /^target:/ },
  { name: 'force missing', input: { cluster: 'ceph', source: { pool: 'rbd', image: 'a' }, at: 'x', keepSnapshots: false }, want: /^force:/ },
  { name: 'a destination path', input: { cluster: 'ceph', destination: '/', source: { pool: 'rbd', image: 'a' }, at: 'x', force: false, keepSnapshots: false }, want: /^destination:/ },
  { name: "from another cluster's backups", input: { cluster: 'site-b', fromCluster: 'site-a', source: { pool: 'rbd', image: 'a' }, at: 'x', force: false, keepSnapshots: false }, want: 'ok' },
  { name: 'from another cluster, under its own name', input: { cluster: 'site-b', fromCluster: 'site-a', source: { pool: 'rbd', image: 'a' }, at: 'x', target: { pool: 'rbd', image: 'a' }, force: false, keepSnapshots: false }, want: 'ok' },
  { name: 'fromCluster a path', input: { cluster: 'site-b', fromCluster: '../site-a', source: { pool: 'rbd', image: 'a' }, at: 'x', force: false, keepSnapshots: false }, want: /^fromCluster: cluster name "\.\.\/site-a"/ },
  { name: 'fromCluster absolute', input: { cluster: 'site-b', fromCluster: '/backup/site-a', source: { pool: 'rbd', image: 'a' }, at: 'x', force: false, keepSnapshots: false }, want: /^fromCluster:/ },
  { name: 'checkImage asked', input: { cluster: 'ceph', source: { pool: 'rbd', image: 'a' }, at: 'x', force: false, keepSnapshots: false, checkImage: true }, want: 'ok' },
  { name: 'checkImage not a boolean', input: { cluster: 'ceph', source: { pool: 'rbd', image: 'a' }, at: 'x', force: false, keepSnapshots: false, checkImage: 'yes' }, want: /^checkImage:/ },
  { name: 'fromCluster empty', input: { cluster: 'site-b', fromCluster: '', source: { pool: 'rbd', image: 'a' }, at: 'x', force: false, keepSnapshots: false }, want: /^fromCluster: cluster name is empty/ },
]);

describe('the image a restore holds', async () => {
  const { restoreMutexImage } = await import('../../src/contract/restore.js');
  const a = { pool: 'rbd', image: 'a' };
  const b = { pool: 'other', image: 'b' };
  const cases: [string, Parameters<typeof restoreMutexImage>[0], typeof a][] = [
    ['own backups, beside the source', { cluster: 'ceph', source: a }, a],
    ['own backups, to another image: still the source, whose catalog is read', { cluster: 'ceph', source: a, target: b }, a],
    ['own name given as fromCluster: as own backups', { cluster: 'ceph', fromCluster: 'ceph', source: a, target: b }, a],
    ["another cluster's backups, to a target: the target", { cluster: 'site-b', fromCluster: 'site-a', source: a, target: b }, b],
    ["another cluster's backups, no target: the source's name here", { cluster: 'site-b', fromCluster: 'site-a', source: a }, a],
  ];
  for (const [name, input, want] of cases) test(name, () => assert.deepEqual(restoreMutexImage(input), want));
});

table('verifyRun input', verifyInputSchema, [
  { name: 'all images', input: { cluster: 'ceph', deep: false }, want: 'ok' },
  { name: 'deep must be a boolean', input: { cluster: 'ceph', deep: 'yes' }, want: /^deep:/ },
  { name: "another cluster's backups", input: { cluster: 'site-b', fromCluster: 'site-a', deep: false }, want: 'ok' },
  { name: "another cluster's backups, deep", input: { cluster: 'site-b', fromCluster: 'site-a', deep: true }, want: /^deep: deep compares with the source image's snapshots/ },
  { name: 'a fromCluster that climbs', input: { cluster: 'site-b', fromCluster: '../site-a', deep: false }, want: /^fromCluster:/ },
]);

table('deleteBackup input', deleteInputSchema, [
  { name: 'a circle', input: { cluster: 'ceph', image: { pool: 'rbd', image: 'a' }, circle: 'rbdbackup-20261129T010000Z' }, want: 'ok' },
  { name: 'neither circle nor point', input: { cluster: 'ceph', image: { pool: 'rbd', image: 'a' } }, want: /exactly one of circle or point/ },
  { name: 'both', input: { cluster: 'ceph', image: { pool: 'rbd', image: 'a' }, circle: 'rbdbackup-20261129T010000Z', point: 'x' }, want: /exactly one/ },
  { name: 'a circle that climbs', input: { cluster: 'ceph', image: { pool: 'rbd', image: 'a' }, circle: '../x' }, want: /^circle:/ },
]);

describe('instantProblem', () => {
  const cases: [string, RegExp | undefined][] = [
    ['2026-11-29T01:00:00Z', undefined],
    ['2026-11-29T01:00Z', undefined],
    ['2024-02-29T00:00:00Z', undefined],
    ['2026-02-29T00:00:00Z', /not a calendar date/],
    ['2026-04-31T00:00:00Z', /not a calendar date/],
    ['2026-13-01T00:00:00Z', /not a calendar date/],
    ['2026-00-10T00:00:00Z', /not a calendar date/],
    ['2026-11-29T23:60:00Z', /not a time of day/],
    ['2026-11-29 01:00:00Z', /ISO 8601/],
    ['yesterday', /ISO 8601/],
  ];
  for (const [s, want] of cases) {
    test(s, () => {
      const p = instantProblem(s);
      if (want) assert.match(p ?? '', want);
      else assert.equal(p, undefined);
    });
  }
});

describe('restore staging names', async () => {
  const { stagingFor } = await import('../../activities/restore.js');
  const { checkName } = await import('../../src/names/names.js');
  test('unique per execution, same for retries, valid, beside the target', () => {
    const a = stagingFor({ pool: 'rbd', image: 'vm' }, 'run-1');
    assert.deepEqual(stagingFor({ pool: 'rbd', image: 'vm' }, 'run-1'), a);
    assert.notEqual(stagingFor({ pool: 'rbd', image: 'vm' }, 'run-2').image, a.image);
    assert.equal(a.pool, 'rbd');
    assert.match(a.image, /^vm-rbdbackup-restoring-[0-9a-f]{12}$/);
    assert.equal(checkName('image', stagingFor({ pool: 'rbd', image: 'x'.repeat(255) }, 'r').image).length <= 255, true);
  });
});

describe('the published contract (rbd-backup/contract)', () => {
  test("exports what a client needs to start and read every workflow: a restore's mutex image, the read-only workflows' schema and results", async () => {
    const contract = await import('../../src/contract/index.js');
    // The workflow ID of a restore from another cluster's backups is its target's, not its source's.
    const input = { cluster: 'site-b', fromCluster: 'site-a', source: { pool: 'rbd', image: 'vm-1' }, target: { pool: 'rbd', image: 'vm-1-dr' } };
    assert.deepEqual(contract.restoreMutexImage(input), { pool: 'rbd', image: 'vm-1-dr' });
    assert.deepEqual(contract.restoreMutexImage({ ...input, fromCluster: undefined }), { pool: 'rbd', image: 'vm-1' });
    assert.equal(contract.check(contract.clusterInputSchema, { cluster: 'ceph', destination: 'offsite' }).ok, true);
    assert.equal(contract.check(contract.clusterInputSchema, { cluster: '../x' }).ok, false);
    // Types only: this file does not compile unless the index exports them.
    const plan: Pick<BackupPlan, 'outcome'> & { images: ImagePreview[] } = { outcome: 'would-run', images: [] };
    const facts: Pick<ClusterFacts, 'pools'> & ClusterInput = { cluster: 'ceph', pools: [] };
    assert.ok(plan && facts);
  });
});
