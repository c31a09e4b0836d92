/**
 * The Cinder source's parts: clouds.yaml reading, credentials, the token request, endpoint choice,
 * name→volume mapping (table-driven), and paging, retries, refusals and timeouts against the local
 * OpenStack double (test/harness/openstack-double.ts), which needs no infrastructure.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema, InputError, loadConfig } from '../../src/config/config.js';
import { ALL_PROJECT_VOLUMES, cinderFailure, workerImages } from '../../src/config/image-source.js';
import { openstackSchema, type OpenStackSettings } from '../../src/openstack/settings.js';
import { cloudEntry, keystoneV3Root, resolveCredentials, cloudsYamlCandidates } from '../../src/openstack/credentials.js';
import { blockStorageUrl, issueToken, tokenRequestBody, type CatalogService } from '../../src/openstack/keystone.js';
import { listVolumes, nextMarker, type Volume } from '../../src/openstack/cinder.js';
import { backendOf, imageOf, selectVolumes, type SelectionRule } from '../../src/openstack/volume-selection.js';
import { cinderImages } from '../../src/openstack/cinder-source.js';
import type { HttpOptions } from '../../src/openstack/http.js';
import { OpenStackDouble } from '../harness/openstack-double.js';

const tmp = mkdtempSync(join(tmpdir(), 'rbd-backup-openstack-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
function file(text: string, name = 'f'): string {
  const f = join(tmp, `${++n}-${name}`);
  writeFileSync(f, text);
  return f;
}

const settings = (o: Record<string, unknown>): OpenStackSettings => openstackSchema.parse({ volume_names: ['x'], ...o });

function throwsInput(fn: () => unknown, re: RegExp, secret?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InputError, `InputError, got ${String(e)}`);
    assert.match((e as Error).message, re);
    assert.ok(!(e as Error).message.includes('\n'), 'one line');
    if (secret) assert.ok(!(e as Error).message.includes(secret), 'the secret stays out of the message');
    return true;
  });
}

describe('openstack: section schema', () => {
  const cases: { name: string; doc: Record<string, unknown>; error?: RegExp }[] = [
    { name: 'names and a password', doc: { auth_url: 'https://k:5000/v3', username: 'u', password: 'p', project_name: 'p', volume_names: ['a'] } },
    { name: 'all volumes', doc: { cloud: 'c', all_volumes_in_project: true } },
    { name: 'no selection', doc: { cloud: 'c' }, error: /volume_names.*all_volumes_in_project/ },
    { name: 'a name twice', doc: { cloud: 'c', volume_names: ['a', 'a'] }, error: /"a" is listed twice/ },
    { name: 'two password sources', doc: { cloud: 'c', volume_names: ['a'], password: 'x', password_env: 'X' }, error: /give one of password/ },
    { name: 'two secret sources', doc: { cloud: 'c', volume_names: ['a'], application_credential_secret: 'x', application_credential_secret_file: '/f' }, error: /give one of application_credential_secret/ },
    { name: 'clouds_yaml without cloud', doc: { clouds_yaml: '/c.yaml', volume_names: ['a'] }, error: /cloud.*required with clouds_yaml/ },
    { name: 'auth_url not a URL', doc: { auth_url: 'keystone:5000', volume_names: ['a'] }, error: /http\(s\) URL/ },
    { name: 'env name with a space', doc: { cloud: 'c', volume_names: ['a'], password_env: 'MY PASS' }, error: /environment variable name/ },
    { name: 'pool with a slash', doc: { cloud: 'c', volume_names: ['a'], pool: 'a/b' }, error: /plain pool name/ },
    { name: 'unknown key', doc: { cloud: 'c', volume_names: ['a'], passwd: 'x' }, error: /passwd/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = openstackSchema.safeParse(c.doc);
      if (!c.error) {
        assert.ok(r.success, JSON.stringify(r.error?.issues));
        assert.equal(r.data.pool, 'volumes');
        assert.equal(r.data.all_tenants, false);
      } else {
        assert.ok(!r.success);
        assert.match(r.error.issues.map((i) => `${i.path.join('.')}: ${i.message} ${'keys' in i ? String(i.keys) : ''}`).join('; '), c.error);
      }
    });
  }
});

test('loadConfig: the section is optional; its paths are relative to the config file', () => {
  const dir = mkdtempSync(join(tmp, 'cfg-'));
  const f = join(dir, 'config.yaml');
  writeFileSync(f, 'backup:\n  destination: /b\nopenstack:\n  cloud: prod\n  clouds_yaml: os/clouds.yaml\n  cacert: /abs/ca.pem\n  password_file: pw\n  all_volumes_in_project: true\n');
  const o = loadConfig(f).openstack!;
  assert.equal(o.clouds_yaml, join(dir, 'os', 'clouds.yaml'));
  assert.equal(o.cacert, '/abs/ca.pem');
  assert.equal(o.password_file, join(dir, 'pw'));
  assert.equal(o.pool, 'volumes');
  writeFileSync(f, 'backup:\n  destination: /b\n');
  assert.equal(loadConfig(f).openstack, undefined);
  writeFileSync(f, 'backup:\n  destination: /b\nopenstack:\n  cloud: prod\n');
  assert.throws(() => loadConfig(f), (e: Error) => e instanceof InputError && e.message === `${f}: openstack.volume_names: name the volumes to back up, or set all_volumes_in_project: true`);
});

describe('clouds.yaml as the SDKs read it', () => {
  const doc = {
    clouds: {
      prod: {
        auth: { auth_url: 'https://keystone.example:5000', username: 'backup', password: 'from-yaml', project_name: 'ops', user_domain_name: 'Corp', project_domain_id: 'corp' },
        regions: ['RegionTwo', 'RegionThree'],
        endpoint_type: 'internalURL',
        cacert: 'ca.pem',
        verify: false,
      },
      app: { auth_type: 'v3applicationcredential', auth: { auth_url: 'https://k/v3', application_credential_id: 'ac1', application_credential_secret: 'sek' }, region_name: 'R1', interface: 'public' },
    },
  };
  test('an entry flattens to the section keys; regions[0], endpoint_type and a relative cacert are read', () => {
    const e = cloudEntry(doc, 'prod', '/etc/openstack/clouds.yaml');
    assert.deepEqual(e, {
      auth_url: 'https://keystone.example:5000',
      username: 'backup',
      password: 'from-yaml',
      project_name: 'ops',
      user_domain_name: 'Corp',
      project_domain_id: 'corp',
      region_name: 'RegionTwo',
      interface: 'internal',
      cacert: '/etc/openstack/ca.pem',
      verify: false,
    });
  });
  test('an unknown cloud names the file and the clouds there', () => {
    throwsInput(() => cloudEntry(doc, 'nope', '/c.yaml'), /^\/c\.yaml: clouds\.nope: no such cloud \(clouds: prod, app\)$/);
    throwsInput(() => cloudEntry({ other: 1 }, 'prod', '/c.yaml'), /no clouds: map/);
  });
  test('the search path: OS_CLIENT_CONFIG_FILE, else ./, ~/.config/openstack, /etc/openstack', () => {
    assert.deepEqual(cloudsYamlCandidates({ OS_CLIENT_CONFIG_FILE: '/x.yaml' }), ['/x.yaml']);
    assert.deepEqual(cloudsYamlCandidates({}, '/w', '/h'), ['/w/clouds.yaml', '/h/.config/openstack/clouds.yaml', '/etc/openstack/clouds.yaml']);
  });
  test('section keys override the entry; the password of the entry is used when the section has none', () => {
    const ca = file('-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n', 'ca.pem');
    const cy = file(JSON.stringify({ clouds: { prod: { ...doc.clouds.prod, cacert: ca } } }), 'clouds.yaml');
    const c = resolveCredentials(settings({ clouds_yaml: cy, cloud: 'prod', region_name: 'RegionThree' }), {});
    assert.equal(c.authUrl, 'https://keystone.example:5000/v3');
    assert.equal(c.regionName, 'RegionThree');
    assert.equal(c.interface, 'internal');
    assert.equal(c.verify, false);
    assert.match(c.ca!, /BEGIN CERTIFICATE/);
    assert.deepEqual(c.auth, { method: 'password', user: { name: 'backup', domain: { name: 'Corp' } }, password: 'from-yaml', project: { name: 'ops', domain: { id: 'corp' } } });
  });
  test('an application credential entry', () => {
    const cy = file(JSON.stringify(doc), 'clouds.yaml');
    const c = resolveCredentials(settings({ clouds_yaml: cy, cloud: 'app' }), {});
    assert.deepEqual(c.auth, { method: 'application_credential', id: 'ac1', secret: 'sek' });
    assert.equal(c.regionName, 'R1');
  });
  test('a missing clouds.yaml or entry is an InputError naming it', () => {
    throwsInput(() => resolveCredentials(settings({ clouds_yaml: join(tmp, 'none.yaml'), cloud: 'prod' }), {}), /openstack\.clouds_yaml: cannot read .*none\.yaml: ENOENT/);
    throwsInput(() => resolveCredentials(settings({ cloud: 'prod' }), { OS_CLIENT_CONFIG_FILE: join(tmp, 'none.yaml') }), /openstack\.cloud: no clouds\.yaml found for cloud prod/);
  });
});

describe('credentials from the section', () => {
  const base = { auth_url: 'http://k:5000/', username: 'u', project_name: 'p' };
  test('password from an environment variable, a file (first line) or inline; domains default to "default"', () => {
    const env = resolveCredentials(settings({ ...base, password_env: 'OS_PW' }), { OS_PW: 's3cret' });
    assert.deepEqual(env.auth, { method: 'password', user: { name: 'u', domain: { id: 'default' } }, password: 's3cret', project: { name: 'p', domain: { id: 'default' } } });
    const f = file('from-file\nignored\n');
    assert.equal((resolveCredentials(settings({ ...base, password_file: f }), {}).auth as { password: string }).password, 'from-file');
    assert.equal((resolveCredentials(settings({ ...base, password: 'inline' }), {}).auth as { password: string }).password, 'inline');
  });
  test('refusals name the key and never the secret', () => {
    throwsInput(() => resolveCredentials(settings({ ...base, password_env: 'OS_PW' }), {}), /^openstack\.password_env: environment variable OS_PW is not set/);
    throwsInput(() => resolveCredentials(settings({ ...base, password_file: join(tmp, 'nope') }), {}), /^openstack\.password_file: cannot read .*ENOENT/);
    throwsInput(() => resolveCredentials(settings({ ...base }), {}), /^openstack\.password: is required/);
    throwsInput(() => resolveCredentials(settings({ auth_url: 'http://k/v3', password: 'pw-1', project_name: 'p' }), {}), /^openstack\.username: is required/, 'pw-1');
    throwsInput(() => resolveCredentials(settings({ auth_url: 'http://k/v3', username: 'u', password: 'pw-2' }), {}), /^openstack\.project_name: is required/, 'pw-2');
    throwsInput(() => resolveCredentials(settings({ username: 'u', password: 'pw-3', project_name: 'p' }), {}), /^openstack\.auth_url: is required/, 'pw-3');
    throwsInput(() => resolveCredentials(settings({ ...base, password: 'pw-4', cacert: join(tmp, 'no-ca') }), {}), /^openstack\.cacert: cannot read/, 'pw-4');
    throwsInput(() => resolveCredentials(settings({ auth_url: 'http://k/v3', application_credential_id: 'a' }), {}), /^openstack\.application_credential_secret: is required/);
  });
  test('auth_url: /v3 kept, bare root gets /v3, v2.0 refused', () => {
    for (const [i, o] of [
      ['https://k:5000/v3', 'https://k:5000/v3'],
      ['https://k:5000/v3/', 'https://k:5000/v3'],
      ['https://k:5000', 'https://k:5000/v3'],
      ['https://k/identity', 'https://k/identity/v3'],
    ] as const) assert.equal(keystoneV3Root(i, 'x'), o);
    throwsInput(() => keystoneV3Root('http://k:35357/v2.0/', 'openstack.auth_url'), /openstack\.auth_url: .* Keystone v2\.0, which is gone/);
  });
  test('token request bodies follow the Identity v3 reference', () => {
    const pw = resolveCredentials(settings({ ...base, user_domain_name: 'Corp', project_id: 'pid', password: 'x' }), {});
    assert.deepEqual(tokenRequestBody(pw), {
      auth: { identity: { methods: ['password'], password: { user: { name: 'u', domain: { name: 'Corp' }, password: 'x' } } }, scope: { project: { id: 'pid' } } },
    });
    const ac = resolveCredentials(settings({ auth_url: 'http://k/v3', application_credential_id: 'id1', application_credential_secret_env: 'S' }), { S: 'sec' });
    // No scope: an application credential is bound to its project.
    assert.deepEqual(tokenRequestBody(ac), { auth: { identity: { methods: ['application_credential'], application_credential: { id: 'id1', secret: 'sec' } } } });
  });
});

describe('the Block Storage endpoint from the catalog', () => {
  const svc = (type: string, endpoints: [string, string, string][]): CatalogService => ({ type, endpoints: endpoints.map(([i, r, url]) => ({ interface: i, region_id: r, url })) });
  const cases: { name: string; catalog: CatalogService[]; iface?: string; region?: string; want?: string; error?: RegExp }[] = [
    { name: 'project already in the URL', catalog: [svc('volumev3', [['public', 'R1', 'https://c:8776/v3/p1']])], want: 'https://c:8776/v3/p1' },
    { name: 'bare v3 root', catalog: [svc('block-storage', [['public', 'R1', 'https://c:8776/v3/']])], want: 'https://c:8776/v3/p1' },
    { name: 'unversioned', catalog: [svc('block-storage', [['public', 'R1', 'https://c/volume']])], want: 'https://c/volume/v3/p1' },
    { name: 'block-storage preferred to volumev3', catalog: [svc('volumev3', [['public', 'R1', 'https://old/v3/p1']]), svc('block-storage', [['public', 'R1', 'https://new/v3/p1']])], want: 'https://new/v3/p1' },
    { name: 'internal interface', catalog: [svc('volumev3', [['public', 'R1', 'https://pub/v3/p1'], ['internal', 'R1', 'http://int/v3/p1']])], iface: 'internal', want: 'http://int/v3/p1' },
    { name: 'the region asked for', catalog: [svc('volumev3', [['public', 'R1', 'https://r1/v3/p1'], ['public', 'R2', 'https://r2/v3/p1']])], region: 'R2', want: 'https://r2/v3/p1' },
    { name: 'two regions, none asked', catalog: [svc('volumev3', [['public', 'R1', 'https://r1/v3/p1'], ['public', 'R2', 'https://r2/v3/p1']])], error: /region_name: is required.*R1, R2/ },
    { name: 'no such region', catalog: [svc('volumev3', [['public', 'R1', 'https://r1/v3/p1']])], region: 'R9', error: /no public Block Storage endpoint in region R9 \(the catalog has public@R1\)/ },
    { name: 'no block storage', catalog: [svc('compute', [['public', 'R1', 'https://n']])], error: /no Block Storage v3 service.*found compute/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const f = () => blockStorageUrl(c.catalog, 'p1', c.iface ?? 'public', c.region);
      if (c.want) assert.equal(f(), c.want);
      else throwsInput(f, c.error!);
    });
  }
});

describe('names to volume-<id> images', () => {
  const vol = (id: string, name: string | null, more: Partial<Volume> = {}): Volume => ({ id, name, status: 'available', volume_type: 'ceph', 'os-vol-host-attr:host': 'ctl@ceph#ceph', ...more });
  const rule = (more: Partial<SelectionRule> = {}): SelectionRule => ({ pool: 'volumes', volumeNames: [], allVolumes: false, ...more });
  const vols = [
    vol('a1', 'web'),
    vol('b1', 'dup'),
    vol('b2', 'dup'),
    vol('c1', 'lvm', { volume_type: 'lvmdriver-1', 'os-vol-host-attr:host': 'ctl@lvm#lvm' }),
    vol('d1', 'moved', { 'os-vol-mig-status-attr:name_id': 'd0' }),
    vol('e1', 'new', { status: 'creating' }),
    vol('f1', null),
    vol('g1', 'nohost', { 'os-vol-host-attr:host': null }),
    vol('h1', 'bad', { id: 'x;y' }),
  ];
  const cases: { name: string; rule: SelectionRule; images: string[]; skipped: [string, RegExp][] }[] = [
    { name: 'a name', rule: rule({ volumeNames: ['web'] }), images: ['volume-a1'], skipped: [] },
    { name: 'a missing name', rule: rule({ volumeNames: ['ghost'] }), images: [], skipped: [['ghost', /^no Cinder volume named "ghost"$/]] },
    { name: 'an ambiguous name', rule: rule({ volumeNames: ['dup'] }), images: [], skipped: [['dup', /"dup" is ambiguous: volumes b1, b2/]] },
    { name: 'an ambiguous name with all volumes: both taken', rule: rule({ volumeNames: ['dup'], allVolumes: true, rbdBackends: ['ceph'] }), images: ['volume-a1', 'volume-b1', 'volume-b2', 'volume-d0', 'volume-f1'], skipped: [['volume-e1', /is creating/], ['volume-g1', /os-vol-host-attr:host/], ['x;y', /image name "volume-x;y"/]] },
    { name: 'not on an RBD backend', rule: rule({ volumeNames: ['lvm'], rbdBackends: ['ceph'] }), images: [], skipped: [['volume-c1', /^Cinder volume "lvm" \(c1\) is on backend lvm, not an RBD backend \(rbd_backends: ceph\)$/]] },
    { name: 'not an RBD volume type', rule: rule({ volumeNames: ['lvm', 'web'], rbdVolumeTypes: ['ceph'] }), images: ['volume-a1'], skipped: [['volume-c1', /volume type lvmdriver-1, not an RBD type/]] },
    { name: 'no rule: every volume is taken to be in the pool', rule: rule({ volumeNames: ['lvm'] }), images: ['volume-c1'], skipped: [] },
    { name: 'backend unknown to a non-admin', rule: rule({ volumeNames: ['nohost'], rbdBackends: ['ceph'] }), images: [], skipped: [['volume-g1', /shown to admins only/]] },
    { name: 'a migrated volume keeps its name_id image', rule: rule({ volumeNames: ['moved'] }), images: ['volume-d0'], skipped: [] },
    { name: 'a volume being created', rule: rule({ volumeNames: ['new'] }), images: [], skipped: [['volume-e1', /is creating/]] },
    { name: 'a named volume outside the rules is reported even with all volumes', rule: rule({ volumeNames: ['lvm'], allVolumes: true, rbdVolumeTypes: ['ceph'] }), images: ['volume-a1', 'volume-b1', 'volume-b2', 'volume-d0', 'volume-f1', 'volume-g1'], skipped: [['volume-c1', /lvmdriver-1/], ['volume-e1', /creating/], ['x;y', /may only use/]] },
    { name: 'a name and all volumes: no volume twice; volumes outside the rules left out', rule: rule({ volumeNames: ['web'], allVolumes: true, rbdVolumeTypes: ['ceph'] }), images: ['volume-a1', 'volume-b1', 'volume-b2', 'volume-d0', 'volume-f1', 'volume-g1'], skipped: [['volume-e1', /creating/], ['x;y', /may only use/]] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = selectVolumes(vols, c.rule);
      assert.deepEqual(got.images.map((i) => i.image).sort(), [...c.images].sort());
      assert.ok(got.images.every((i) => i.pool === 'volumes'));
      assert.deepEqual(got.skipped.map((s) => s.image).sort(), c.skipped.map(([i]) => i).sort());
      for (const [image, re] of c.skipped) assert.match(got.skipped.find((s) => s.image === image)!.reason, re);
    });
  }
  test('helpers', () => {
    assert.equal(backendOf('ctl@ceph#pool'), 'ceph');
    assert.equal(backendOf('ctl@ceph'), 'ceph');
    assert.equal(backendOf('ctl'), undefined);
    assert.equal(imageOf(vol('z', 'z', { 'os-vol-mig-status-attr:name_id': null })), 'volume-z');
  });
  test('nextMarker reads the marker of the rel=next link, whatever its host', () => {
    assert.equal(nextMarker({ volumes_links: [{ rel: 'next', href: 'https://internal:8776/v3/p/volumes/detail?limit=2&marker=abc' }] }), 'abc');
    assert.equal(nextMarker({ volumes_links: [{ rel: 'self', href: 'x?marker=abc' }] }), undefined);
    assert.equal(nextMarker({}), undefined);
  });
});

describe('against the OpenStack double', () => {
  const os = new OpenStackDouble();
  const http = (more: Partial<HttpOptions> = {}): HttpOptions => ({ timeoutMs: 2000, retries: 2, verify: true, backoffMs: 10, ...more });
  const cfg = (more: Record<string, unknown> = {}) =>
    settings({ auth_url: os.authUrl, username: 'backup', password_env: 'PW', project_name: 'ops', volume_names: ['v0'], page_size: 2, timeout_seconds: 1, retries: 2, ...more });
  const env = { PW: 'pw-unit-7' };
  before(async () => {
    await os.start();
    os.projects.push({ id: 'p-ops', name: 'ops', domainId: 'default' }, { id: 'p-other', name: 'other', domainId: 'default' });
    os.users.push({ id: 'u1', name: 'backup', domainId: 'default', password: 'pw-unit-7', projects: ['p-ops'] });
    os.users.push({ id: 'u2', name: 'admin', domainId: 'default', password: 'adm', projects: ['p-ops'], admin: true });
    os.appCredentials.push({ id: 'ac', secret: 'ac-secret', userId: 'u1', projectId: 'p-ops' });
    for (let i = 0; i < 5; i++) os.addVolume({ name: `v${i}`, projectId: 'p-ops', host: 'ctl@ceph#ceph' });
    os.addVolume({ name: 'theirs', projectId: 'p-other' });
  });
  after(() => os.stop());

  test('paging: five volumes two at a time, by marker, also when the link names another host', async () => {
    os.calls = [];
    os.linkBase = 'http://cinder-internal.invalid:8776';
    try {
      const got = await cinderImages(cfg({ all_volumes_in_project: true }), { env, backoffMs: 10 });
      assert.equal(got.listed, 5);
      assert.equal(got.images.length, 5);
      assert.deepEqual(got.skipped, []);
      // Full pages get a next link, the last full one too: 2 + 2 + 1, and no call after the short page.
      const lists = os.callsTo('volumes');
      assert.equal(lists.length, 3);
      assert.match(lists[1]!, /marker=/);
      assert.ok(lists.every((c) => c.startsWith('GET /volume/v3/p-ops/volumes/detail?limit=2')));
    } finally {
      delete os.linkBase;
    }
  });
  test('an exactly full last page ends on the empty page after it', async () => {
    os.calls = [];
    const got = await cinderImages(cfg({ all_volumes_in_project: true, page_size: 5 }), { env, backoffMs: 10 });
    assert.equal(got.listed, 5);
    assert.equal(os.callsTo('volumes').length, 2);
  });
  test('interface internal uses the internal endpoint; an application credential works', async () => {
    os.calls = [];
    const got = await cinderImages(settings({ auth_url: os.authUrl, application_credential_id: 'ac', application_credential_secret: 'ac-secret', interface: 'internal', volume_names: ['v3'] }), { env: {} });
    assert.equal(got.images.length, 1);
    assert.match(os.callsTo('volumes')[0]!, /^GET \/volume-internal\/v3\/p-ops\//);
  });
  test('all_tenants: honoured for an admin, ignored (as Cinder does) for others', async () => {
    const admin = await cinderImages(settings({ auth_url: os.authUrl, username: 'admin', password: 'adm', project_name: 'ops', all_volumes_in_project: true, all_tenants: true }), { env: {} });
    assert.equal(admin.listed, 6);
    const member = await cinderImages(cfg({ all_volumes_in_project: true, all_tenants: true }), { env });
    assert.equal(member.listed, 5);
  });
  test('500 then success: retried, and the run gets its volumes', async () => {
    os.calls = [];
    os.fail({ on: 'volumes', status: 500, times: 1 });
    os.fail({ on: 'token', status: 503, times: 1 });
    const got = await cinderImages(cfg({ page_size: 100 }), { env, backoffMs: 10 });
    assert.deepEqual(got.images.map((i) => i.image), [`volume-${os.volumes.find((v) => v.name === 'v0')!.id}`]);
    assert.equal(os.callsTo('token').length, 2);
    assert.equal(os.callsTo('volumes').length, 2);
  });
  test('500 every time: bounded attempts, then an InputError saying so', async () => {
    os.calls = [];
    os.fail({ on: 'volumes', status: 500, times: 10 });
    await assert.rejects(cinderImages(cfg(), { env, backoffMs: 10 }), (e: Error) => e instanceof InputError && /Cinder at .* answered 500/.test(e.message));
    assert.equal(os.callsTo('volumes').length, 3);
    os.clearFaults();
  });
  test('401 from Keystone: not retried, one line, no secret', async () => {
    os.calls = [];
    await assert.rejects(cinderImages(cfg(), { env: { PW: 'wrong-pw-9' }, backoffMs: 10 }), (e: Error) => {
      assert.ok(e instanceof InputError);
      assert.match(e.message, /^openstack: Keystone at http:\/\/127\.0\.0\.1:\d+\/identity\/v3\/auth\/tokens refused the credentials \(401 Unauthorized: The request you have made requires authentication\.\): check openstack\.username/);
      assert.ok(!e.message.includes('wrong-pw-9'));
      return true;
    });
    assert.equal(os.callsTo('token').length, 1);
  });
  test('the list file and Cinder, Keystone refusing: the list file\'s images go ahead, the Cinder names are skipped with why', async () => {
    const list = file('ceph:\n  - rbd:\n      - name: vm-1\n', 'list.yaml');
    const config = (listFile: string | undefined) =>
      configSchema.parse({ cluster: { name: 'ceph' }, backup: { destination: tmp, ...(listFile ? { list_file: listFile } : {}) }, openstack: { ...cfg(), volume_names: ['v0', 'v1'] } });
    os.calls = [];
    const got = await workerImages(config(list), 'ceph', { env: { PW: 'wrong-pw-9' }, backoffMs: 10 });
    assert.deepEqual(got.images, [{ pool: 'rbd', image: 'vm-1' }]);
    assert.deepEqual(got.skipped.map((x) => `${x.pool}/${x.image}`), ['volumes/v0', 'volumes/v1']);
    for (const x of got.skipped) assert.match(x.reason, /^not backed up, Cinder could not be read: openstack: Keystone at \S+ refused the credentials \(401 /);
    assert.match(got.cinderError ?? '', /Keystone/);
    assert.equal(got.listed, undefined);
    assert.ok(!JSON.stringify(got).includes('wrong-pw-9'));
    // Cinder the only source: the refusal stands (exit 2).
    await assert.rejects(workerImages(config(undefined), 'ceph', { env: { PW: 'wrong-pw-9' }, backoffMs: 10 }), (e: Error) => e instanceof InputError && /Keystone .* refused the credentials/.test(e.message));
  });
  test('403 from Cinder: a clear refusal', async () => {
    os.fail({ on: 'volumes', status: 403, times: 1 });
    await assert.rejects(cinderImages(cfg(), { env }), /refused to list volumes \(403 Forbidden: Policy does not allow volume:get_all/);
  });
  test('a slow answer: each attempt times out, then a clear error', async () => {
    os.calls = [];
    os.fail({ on: 'token', delayMs: 5000, times: 3 });
    const t0 = Date.now();
    await assert.rejects(cinderImages(cfg(), { env, backoffMs: 10 }), (e: Error) => e instanceof InputError && /^openstack: no answer from Keystone at .* within 1 s \(3 attempt\(s\)\)/.test(e.message));
    assert.equal(os.callsTo('token').length, 3);
    // Bounded by the timeout, not by the double's delay (3 x 5 s).
    assert.ok(Date.now() - t0 < 14_000);
  });
  test('nothing listening: a network error, retried then reported', async () => {
    const dead = new OpenStackDouble();
    await dead.start();
    const url = dead.authUrl;
    await dead.stop();
    await assert.rejects(cinderImages(cfg({ auth_url: url }), { env, backoffMs: 10 }), /openstack: cannot reach Keystone at .*: ECONNREFUSED \(3 attempt\(s\)\)/);
  });
  test('listVolumes refuses a token Cinder does not know', async () => {
    const creds = resolveCredentials(cfg(), env);
    const token = await issueToken(creds, http());
    await assert.rejects(
      listVolumes(`${os.url}/volume/v3/p-ops`, { ...token, value: 'forged' }, { allTenants: false, pageSize: 2 }, http()),
      /Cinder at .* refused the token \(401/,
    );
  });
});

describe('a Cinder that cannot be read, beside a list file', () => {
  const listed = [{ pool: 'rbd', image: 'vm-1' }];
  const reason = 'openstack: Keystone at http://k/v3/auth/tokens refused the credentials (401 Unauthorized)';
  const cases: { name: string; listed: { pool: string; image: string }[]; o: { pool: string; volume_names?: string[]; all_volumes_in_project: boolean }; want: string[] | undefined }[] = [
    { name: 'Cinder the only source: no run (the error stands, exit 2)', listed: [], o: { pool: 'volumes', volume_names: ['db'], all_volumes_in_project: false }, want: undefined },
    { name: 'named volumes: each reported skipped', listed, o: { pool: 'volumes', volume_names: ['db', 'web'], all_volumes_in_project: false }, want: ['volumes/db', 'volumes/web'] },
    { name: 'all volumes of the project: one entry for them', listed, o: { pool: 'vols', all_volumes_in_project: true }, want: [`vols/${ALL_PROJECT_VOLUMES}`] },
    { name: 'both: the names and the rest', listed, o: { pool: 'volumes', volume_names: ['db'], all_volumes_in_project: true }, want: ['volumes/db', `volumes/${ALL_PROJECT_VOLUMES}`] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = cinderFailure(c.listed, c.o, reason);
      assert.deepEqual(got?.map((x) => `${x.pool}/${x.image}`), c.want);
      for (const x of got ?? []) assert.equal(x.reason, `not backed up, Cinder could not be read: ${reason}`);
    });
  }
});
