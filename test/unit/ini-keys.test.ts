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
    { name: 'the Cinder mode cannot be converted', ini: `[default]\n${DEST}backup_list_from_openstack_yaml_file = True\n`, says: /^c\.ini:3: backup_list_from_openstack_yaml_file = True: the Cinder source cannot be converted from \/etc\/rbd_backup_restore\/openstack\.yaml/ },
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
