/**
 * The original tool's config.ini read as the YAML config: its sample gives the same effective
 * config as the same settings written by hand in YAML, `config convert` round-trips, each key's
 * quirk is fixed (integers, False as unlimited, weekday lists), and every refusal names the line.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError, loadConfig } from '../../src/config/config.js';
import { isIni, readConfigFile } from '../../src/config/config-file.js';
import { effectiveKeys, MASK } from '../../src/config/effective.js';
import { iniToConfig, renderYaml } from '../../src/config/ini-keys.js';
import { v2ToV3, withoutCredentials } from '../../src/config/openstack-yaml.js';

const fixtures = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'original');
const tmp = mkdtempSync(join(tmpdir(), 'rbd-backup-ini-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
function file(text: string, name = 'config.ini'): string {
  const dir = join(tmp, `case-${++n}`);
  mkdirSync(dir);
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}

const DEST = 'backup_destination_path = /mnt/disk\n';

describe('the original sample config.ini', () => {
  const ini = join(fixtures, 'config.ini');
  const yaml = join(fixtures, 'config.yaml');

  test('loads into the same effective config as the hand-written YAML', () => {
    const fromIni = readConfigFile(ini);
    assert.equal(fromIni.format, 'ini');
    assert.deepEqual(fromIni.config, loadConfig(yaml));
    assert.equal(fromIni.config.backup.concurrency, 4, 'an integer, not the string "4"');
    assert.deepEqual(fromIni.config.backup.incremental_weekdays, [1, 2, 3, 4, 5, 6]);
  });

  test('warns once, one line each, about the keys that no longer apply', () => {
    const { warnings } = readConfigFile(ini);
    const keys = warnings.map((w) => /:\d+: (\S+) no longer applies/.exec(w)?.[1]);
    assert.deepEqual(keys, [
      'log_file_path', 'log_level', 'log_max_bytes', 'log_backup_count', 'log_delay', 'log_module_name',
      'openstack_yaml_file_path', 'openstack_yaml_section', 'openstack_distribution', 'openstack_ceph_pool',
    ]);
    assert.ok(warnings[0]!.startsWith(`${ini}:6: log_file_path no longer applies: `), warnings[0]);
    assert.ok(warnings.every((w) => !w.includes('\n')));
  });

  test('config convert round-trips: its YAML loads into the same config as the ini', () => {
    const text = readFileSync(ini, 'utf8');
    const out = renderYaml(iniToConfig(text, ini), ini);
    const converted = file(out, 'config.yaml');
    assert.deepEqual(loadConfig(converted), readConfigFile(ini).config);
    assert.match(out, /concurrency: 4 # backup_concurrent_worker_count \(line 16\)/);
    assert.match(out, /max_incremental: 6 # backup_max_incremental \(line 20\); 0 = unlimited/);
    assert.match(out, /^# {3}openstack_distribution = helion \(line 27\): /m);
  });

  test('config convert writes relative paths resolved against the ini: the YAML means the same files wherever it is written', () => {
    const ini = file('[default]\nceph_conf_file = ceph.conf\nceph_keyring_file = ./keys/admin.keyring\nbackup_destination_path = ../disk\nbackup_list_file_path = lists/images.yaml\nceph_cluster_name = site\n');
    const dir = dirname(ini);
    const out = renderYaml(iniToConfig(readFileSync(ini, 'utf8'), ini), ini);
    const elsewhere = file(out, 'config.yaml');
    assert.notEqual(dirname(elsewhere), dir);
    const converted = loadConfig(elsewhere);
    assert.deepEqual(converted, readConfigFile(ini).config);
    assert.equal(converted.cluster.conf, join(dir, 'ceph.conf'));
    assert.equal(converted.cluster.keyring, join(dir, 'keys', 'admin.keyring'));
    assert.equal(converted.backup.destination, resolve(dir, '..', 'disk'));
    assert.equal(converted.backup.list_file, join(dir, 'lists', 'images.yaml'));
    assert.equal(converted.cluster.name, 'site', 'a name is not a path');
    // An absolute path stays as written.
    const abs = file('[default]\nbackup_destination_path = /mnt/disk\n');
    assert.match(renderYaml(iniToConfig(readFileSync(abs, 'utf8'), abs), abs), /^ {2}destination: \/mnt\/disk # backup_destination_path \(line 2\)$/m);
  });

  test('show config names the line each key came from, and "default" for the rest', () => {
    const f = readConfigFile(ini);
    const keys = Object.fromEntries(effectiveKeys(f.config, f.sources).map((k) => [k.key, k.source]));
    assert.equal(keys['backup.destination'], `${ini}:15`);
    assert.equal(keys['backup.full_weekdays'], `${ini}:22`);
    assert.equal(keys['temporal.address'], 'default');
    const y = readConfigFile(join(fixtures, 'config.yaml'));
    const ykeys = Object.fromEntries(effectiveKeys(y.config, y.sources).map((k) => [k.key, k.source]));
    assert.equal(ykeys['backup.destination'], `${yaml}:8`);
    assert.equal(ykeys['log.level'], 'default');
  });
});

describe('config.ini keys: each quirk fixed, not copied', () => {
  const cases: { name: string; ini: string; want: Record<string, unknown> }[] = [
    { name: 'False for max incremental is unlimited (0)', ini: 'backup_max_incremental = False\n', want: { max_incremental: 0 } },
    { name: '0 for max incremental is unlimited', ini: 'backup_max_incremental = 0\n', want: { max_incremental: 0 } },
    { name: 'false in any case', ini: 'backup_max_incremental = no\n', want: { max_incremental: 0 } },
    { name: 'a limit stays a limit', ini: 'backup_max_incremental = 3\n', want: { max_incremental: 3 } },
    { name: 'weekday lists with or without spaces, and across lines', ini: 'weekly_full_backup = 6,7\nweekly_incr_backup = 1, 2,\n   3 4\n', want: { full_weekdays: [6, 7], incremental_weekdays: [1, 2, 3, 4] } },
    { name: 'an empty weekday list is no day', ini: 'weekly_full_backup =\n', want: { full_weekdays: [] } },
    { name: 'counts are integers', ini: 'backup_concurrent_worker_count = 8\nbackup_circle_retain_count = +2\n', want: { concurrency: 8, circle_retain_count: 2 } },
    { name: 'booleans as ConfigParser reads them', ini: 'backup_read_options = true\nbackup_list_from_openstack_yaml_file = off\n', want: {} },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const ic = iniToConfig(`[default]\n${DEST}${c.ini}`, 'c.ini');
      for (const [k, v] of Object.entries(c.want)) assert.deepEqual(ic.raw.backup?.[k], v, k);
      assert.deepEqual(ic.warnings, []);
    });
  }

  test('relative paths are relative to the ini file, and %(key)s works in them', () => {
    const f = file('[DEFAULT]\nroot = disks\n[default]\nbackup_destination_path = %(root)s/backup\nceph_conf_file = ceph.conf\n');
    const cfg = readConfigFile(f).config;
    assert.equal(cfg.backup.destination, join(dirname(f), 'disks', 'backup'));
    assert.equal(cfg.cluster.conf, join(dirname(f), 'ceph.conf'));
  });

  test('backup_read_options = False warns: the list file options always apply', () => {
    const ic = iniToConfig(`[default]\n${DEST}backup_read_options = False\n`, 'c.ini');
    assert.deepEqual(ic.warnings.map((w) => [w.key, w.line]), [['backup_read_options', 3]]);
  });

  const refused: { name: string; ini: string; says: RegExp }[] = [
    { name: 'a [DEFAULT] key nobody references is unknown', ini: `[DEFAULT]\nroot = /m\n[default]\n${DEST}`, says: /^c\.ini:2: unknown key "root"/ },
    { name: 'an unknown key names its line', ini: `[default]\n${DEST}backup_destinaton = /x\n`, says: /^c\.ini:3: unknown key "backup_destinaton"/ },
    { name: 'a count that is not an integer', ini: `[default]\n${DEST}backup_concurrent_worker_count = 2.5\n`, says: /^c\.ini:3: backup_concurrent_worker_count: "2\.5" is not an integer$/ },
    { name: 'a count in words', ini: `[default]\n${DEST}backup_circle_retain_count = four\n`, says: /^c\.ini:3: backup_circle_retain_count: "four" is not an integer$/ },
    { name: 'True for max incremental', ini: `[default]\n${DEST}backup_max_incremental = True\n`, says: /^c\.ini:3: backup_max_incremental: "True" is not an integer \(or False\/0 for unlimited\)$/ },
    { name: 'a count the YAML config refuses (0 workers)', ini: `[default]\n${DEST}backup_concurrent_worker_count = 0\n`, says: /^c\.ini:3: backup_concurrent_worker_count: .*>=1/ },
    { name: 'weekday 8', ini: `[default]\n${DEST}weekly_full_backup = 7, 8\n`, says: /^c\.ini:3: weekly_full_backup: "8" is not a weekday/ },
    { name: 'a day in both lists', ini: `[default]\n${DEST}weekly_full_backup = 7\nweekly_incr_backup = 1, 7\n`, says: /^c\.ini:3: day\(s\) 7 in both weekly_full_backup and weekly_incr_backup$/ },
    { name: 'a day in both lists, one of them the default', ini: `[default]\n${DEST}weekly_incr_backup = 6, 7\n`, says: /^c\.ini:3: day\(s\) 7 in both/ },
    { name: 'a bad cluster name', ini: `[default]\n${DEST}ceph_cluster_name = my cluster\n`, says: /^c\.ini:3: ceph_cluster_name: must be a plain name/ },
    { name: 'an empty path', ini: `[default]\n${DEST}ceph_conf_file =\n`, says: /^c\.ini:3: ceph_conf_file: is empty$/ },
    { name: 'a boolean that is not one', ini: `[default]\n${DEST}backup_read_options = maybe\n`, says: /^c\.ini:3: backup_read_options: "maybe" is not a boolean/ },
    { name: 'no destination', ini: '[default]\nceph_cluster_name = ceph\n', says: /^c\.ini: \[default\]: backup_destination_path is required$/ },
    { name: 'no [default] section', ini: `[prod]\n${DEST}`, says: /^c\.ini: no \[default\] section \(sections: \[prod\]\)$/ },
    { name: 'a second section', ini: `[default]\n${DEST}[weekly]\n${DEST}`, says: /^c\.ini:3: section \[weekly\]: only \[default\] is read; convert each section/ },
    { name: 'a syntax error keeps its line', ini: `[default]\n${DEST}oops\n`, says: /^c\.ini:3: "oops" is neither/ },
  ];
  for (const c of refused) {
    test(`refused: ${c.name}`, () => {
      assert.throws(
        () => iniToConfig(c.ini, 'c.ini'),
        (e: unknown) => {
          assert.ok(e instanceof InputError, String(e));
          assert.match(e.message, c.says);
          assert.ok(!e.message.includes('\n'));
          return true;
        },
      );
    });
  }

  test('convert --section reads another section and ignores the rest', () => {
    const ic = iniToConfig(`[default]\n${DEST}[weekly]\nbackup_destination_path = /mnt/weekly\n`, 'c.ini', 'weekly', { otherSections: 'ignore' });
    assert.equal(ic.raw.backup?.destination, '/mnt/weekly');
  });
});

describe("the Cinder mode: the original's openstack.yaml becomes the openstack: section", () => {
  // The original's documented sample, as it shipped.
  const SAMPLE = [
    'default:',
    '  auth_url: http://KEYSTONE:35357/v2.0/',
    '  tenant_name: admin',
    '  user_name: admin',
    '  password: password',
    '  cacert_path: /etc/ssl/certs/ca-certificates.crt',
    '  volume_names: [ volume_name ]',
    '',
  ].join('\n');
  const CINDER = 'backup_list_from_openstack_yaml_file = True\n';
  /** A config.ini and its openstack.yaml side by side; `osPath` is what the ini names. */
  function pair(ini: string, yaml: string | undefined, osPath = 'openstack.yaml'): string {
    const f = file(`[default]\n${DEST}${CINDER}openstack_yaml_file_path = ${osPath}\n${ini}`);
    if (yaml !== undefined) writeFileSync(join(dirname(f), 'openstack.yaml'), yaml);
    return f;
  }
  const load = (f: string) => iniToConfig(readFileSync(f, 'utf8'), f);

  const cases: { name: string; yaml: string; ini?: string; want: Record<string, unknown> }[] = [
    {
      name: 'the original sample',
      yaml: SAMPLE,
      want: {
        auth_url: 'http://keystone:5000/v3',
        username: 'admin',
        user_domain_name: 'Default',
        project_name: 'admin',
        project_domain_name: 'Default',
        password: 'password',
        cacert: '/etc/ssl/certs/ca-certificates.crt',
        volume_names: ['volume_name'],
      },
    },
    {
      name: 'another section and pool, a v3 URL kept as written, a relative CA file',
      yaml: `other:\n  volume_names: [x]\nprod:\n  auth_url: https://k.example:5000/v3\n  volume_names:\n    - db-1\n    - web-1\n  cacert_path: ca.pem\n`,
      ini: 'openstack_yaml_section = prod\nopenstack_ceph_pool = cinder-ssd\n',
      want: { auth_url: 'https://k.example:5000/v3', cacert: 'DIR/ca.pem', volume_names: ['db-1', 'web-1'], pool: 'cinder-ssd' },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const f = pair(c.ini ?? '', c.yaml);
      const want = JSON.parse(JSON.stringify(c.want).replace('DIR', dirname(f))) as Record<string, unknown>;
      assert.deepEqual(load(f).raw.openstack, want);
    });
  }

  const urls: [string, string][] = [
    ['http://keystone:35357/v2.0/', 'http://keystone:5000/v3'],
    ['http://keystone:35357/v2.0', 'http://keystone:5000/v3'],
    ['https://keystone.example:5000/v2.0', 'https://keystone.example:5000/v3'],
    ['https://cloud.example/identity/v2.0/', 'https://cloud.example/identity/v3'],
    ['https://cloud.example/identity/v3', 'https://cloud.example/identity/v3'],
    ['https://cloud.example:35357/v3', 'https://cloud.example:35357/v3'],
    ['https://cloud.example:5000', 'https://cloud.example:5000'],
  ];
  for (const [from, to] of urls) test(`auth_url ${from} → ${to}`, () => assert.equal(v2ToV3(from), to));
  const printable: [string, string][] = [
    ['http://admin:s3cret@keystone:35357/v2.0/', 'http://keystone:35357/v2.0/'],
    ['https://keystone.example:5000/v3', 'https://keystone.example:5000/v3'],
    ['not a url //u:p@host/x', 'not a url //host/x'],
  ];
  for (const [from, to] of printable) test(`printed as ${to}`, () => assert.equal(withoutCredentials(from), to));

  test('the rewrite and the domains are one warning line each, naming the ini line and both URLs', () => {
    const f = pair('', SAMPLE);
    const { warnings } = readConfigFile(f);
    const os = join(dirname(f), 'openstack.yaml');
    assert.deepEqual(warnings, [
      `${f}:3: openstack.auth_url: http://KEYSTONE:35357/v2.0/ (${os}:2) is Keystone v2.0, which is gone: rewritten to http://keystone:5000/v3; check it (port 35357, v2's admin port, became 5000, where Keystone v3 listens by default)`,
      `${f}:3: openstack.user_domain_name, openstack.project_domain_name: set to Default (Keystone v2 had no domains; its users and tenants are in Default); change them if yours are elsewhere`,
    ]);
  });

  test('show config names openstack.yaml and its line as the source, and masks the password', () => {
    const f = pair('', SAMPLE);
    const loaded = readConfigFile(f);
    const keys = Object.fromEntries(effectiveKeys(loaded.config, loaded.sources).map((k) => [k.key, k]));
    assert.equal(keys['openstack.username']?.source, `${join(dirname(f), 'openstack.yaml')}:4`);
    assert.equal(keys['openstack.password']?.value, MASK);
    assert.equal(keys['openstack.pool']?.value, 'volumes');
  });

  test('the list file of the ini is not kept: the original read Cinder instead of it', () => {
    const f = pair('backup_list_file_path = /etc/rbd_backup_restore/backup_list.yaml\n', SAMPLE);
    const ic = load(f);
    assert.equal(ic.raw.backup?.list_file, undefined);
    assert.deepEqual(ic.warnings.map((w) => [w.key, w.line]), [['backup_list_file_path', 5]]);
  });

  test('config convert writes YAML that loads into the same config, with the password commented', () => {
    const f = pair('openstack_ceph_pool = volumes\n', SAMPLE);
    const out = renderYaml(load(f), f);
    const converted = loadConfig(file(out, 'config.yaml'));
    assert.deepEqual(converted, readConfigFile(f).config);
    assert.equal(converted.openstack?.auth_url, 'http://keystone:5000/v3');
    assert.match(out, /^ {2}# Better than an inline password: password_file/m);
    assert.match(out, /^ {2}username: admin # user_name \(.*openstack\.yaml line 4\)$/m);
    assert.match(out, /^ {2}pool: volumes # openstack_ceph_pool \(line 5\)$/m);
  });

  test('the default openstack.yaml path is the original one', () => {
    const f = file(`[default]\n${DEST}${CINDER}`);
    assert.throws(() => load(f), (e: unknown) => e instanceof InputError && e.message === `${f}:3: backup_list_from_openstack_yaml_file = True (the default openstack_yaml_file_path): cannot read /etc/rbd_backup_restore/openstack.yaml: ENOENT`);
  });

  const refused: { name: string; yaml: string | undefined; ini?: string; says: (f: string, os: string) => string }[] = [
    { name: 'openstack.yaml missing', yaml: undefined, says: (f) => `${f}:4: openstack_yaml_file_path: cannot read ${join(dirname(f), 'openstack.yaml')}: ENOENT` },
    { name: 'the section missing', yaml: 'prod:\n  volume_names: [x]\n', says: (_f, os) => `${os}: no section "default" (sections: prod); openstack_yaml_section names it` },
    { name: 'an unknown key', yaml: SAMPLE + '  region: RegionOne\n', says: (_f, os) => `${os}:8: default.region: unknown key (known: auth_url, tenant_name, user_name, password, cacert_path, volume_names)` },
    { name: 'volume_names missing', yaml: 'default:\n  user_name: admin\n', says: (_f, os) => `${os}:1: default.volume_names: is required (the Cinder volume names to back up)` },
    { name: 'volume_names empty', yaml: 'default:\n  volume_names: []\n', says: (_f, os) => `${os}:2: default.volume_names: is empty: name the volumes to back up` },
    { name: 'volume_names not a list', yaml: 'default:\n  volume_names: db-1\n', says: (_f, os) => `${os}:2: default.volume_names: must be a list of Cinder volume names ([ name, … ])` },
    { name: 'a password YAML reads as a number', yaml: 'default:\n  password: 123456\n  volume_names: [x]\n', says: (_f, os) => `${os}:2: default.password: must be a non-empty string (quote it)` },
    { name: 'a section that is not a map', yaml: 'default: [x]\n', says: (_f, os) => `${os}:1: default: is not a map of keys` },
    { name: 'malformed YAML', yaml: 'default:\n  a: [\n', says: (_f, os) => `${os}:3: malformed YAML: ` },
    { name: 'an auth_url that is no URL (said by the schema, naming openstack.yaml)', yaml: 'default:\n  auth_url: keystone:5000\n  volume_names: [x]\n', says: (_f, os) => `${os}:2: auth_url: must be an http(s) URL` },
    { name: 'a pool that is no pool name', yaml: SAMPLE, ini: 'openstack_ceph_pool = a/b\n', says: (f) => `${f}:5: openstack_ceph_pool: must be a plain pool name` },
  ];
  for (const c of refused) {
    test(`refused: ${c.name}`, () => {
      const f = pair(c.ini ?? '', c.yaml);
      const want = c.says(f, join(dirname(f), 'openstack.yaml'));
      assert.throws(
        () => load(f),
        (e: unknown) => {
          assert.ok(e instanceof InputError, String(e));
          assert.ok(e.message.startsWith(want), `${e.message}\n  does not start with\n${want}`);
          assert.ok(!e.message.includes('\n'));
          return true;
        },
      );
    });
  }
});

describe('which files are config.ini', () => {
  const table: [string, string, boolean][] = [
    ['config.ini', 'backup:\n', true],
    ['CONFIG.INI', '', true],
    ['rbd.conf', '# comment\n; another\n\n[default]\na = 1\n', true],
    ['config.yaml', 'backup:\n  destination: /x\n', false],
    ['config.yaml', '# [default]\nbackup: {}\n', false],
    ['config', '', false],
  ];
  for (const [name, text, want] of table) test(`${name}: ${JSON.stringify(text.slice(0, 20))} → ${want}`, () => assert.equal(isIni(name, text), want));
});

describe('show config masks secrets, not paths', () => {
  test('password, secret and token values are masked; a keyring path is not', () => {
    const cfg = loadConfig(file('backup:\n  destination: /x\n', 'c.yaml'));
    const withSecrets = { ...cfg, openstack: { password: 'hunter2', application_credential_secret: 's3cr3t', token: 't', auth_url: 'https://k/v3' }, other: { password: '' } };
    const keys = Object.fromEntries(effectiveKeys(withSecrets as unknown as typeof cfg, new Map()).map((k) => [k.key, k.value]));
    assert.equal(keys['openstack.password'], MASK);
    assert.equal(keys['openstack.application_credential_secret'], MASK);
    assert.equal(keys['openstack.token'], MASK);
    assert.equal(keys['openstack.auth_url'], 'https://k/v3');
    assert.equal(keys['other.password'], '', 'nothing to hide: shown empty');
    assert.equal(keys['cluster.keyring'], '/etc/ceph/ceph.client.admin.keyring');
  });
  test('where a secret is (_file, _env) is shown: only the exact secret keys are masked', () => {
    const cfg = loadConfig(file('backup:\n  destination: /x\n', 'c.yaml'));
    const table: [string, unknown, unknown][] = [
      ['password', 'hunter2', MASK],
      ['password_file', '/etc/rbd-backup/os-password', '/etc/rbd-backup/os-password'],
      ['password_env', 'OS_PASSWORD', 'OS_PASSWORD'],
      ['application_credential_secret', 's3cr3t', MASK],
      ['application_credential_secret_file', '/etc/rbd-backup/ac', '/etc/rbd-backup/ac'],
      ['application_credential_secret_env', 'OS_AC_SECRET', 'OS_AC_SECRET'],
      ['application_credential_id', '21dced0f', '21dced0f'],
      ['token', 'gAAAA', MASK],
      ['auth_token', 'gAAAA', MASK],
      ['username', 'backup', 'backup'],
    ];
    for (const [key, value, shown] of table) {
      const keys = effectiveKeys({ ...cfg, openstack: { [key]: value } } as unknown as typeof cfg, new Map());
      assert.equal(keys.find((k) => k.key === `openstack.${key}`)?.value, shown, key);
    }
  });
});
