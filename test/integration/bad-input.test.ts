/**
 * Bad input as a new user types it and as an attacker crafts it, one table through the real CLI
 * against the real cluster and dev server. Every case must end with exactly its documented exit
 * code and one stderr line `rbd-backup: …` naming the culprit (no stack trace), write nothing in
 * any destination (a listing with sizes and mtimes is unchanged), take no snapshot and create no
 * image (`rbd ls -l`), and end within a bound: a refusal that takes minutes is a retry loop.
 *
 * One worker and one config serve every case that needs a worker; its config has extra
 * destination keys for the destination cases. Configs that must differ are variants of it
 * written per case, and the worker's own start-up problems are `rbd-backup worker` cases.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { Client, Connection } from '@temporalio/client';
import { ceph, cliPath, createImage, rbd, startWorker, tempDir, temporal, writeConfig, type RunningWorker, type TestConfig } from '../harness/env.js';
import type { ImageCatalog } from '../../src/catalog/catalog.js';
import { listing } from '../harness/tree.js';

/** Far from the hours and years other test files use: run names derive from --as-of. */
const SUN = '2031-11-30T13:00:00Z';
const MON = '2031-12-01T13:00:00Z';
const TUE = '2031-12-02T13:00:00Z';
const WED = '2031-12-03T13:00:00Z';
const compact = (iso: string) => iso.replace(/[-:]/g, '').replace('.000', '');
const snapOf = (iso: string) => `rbdbackup-${compact(iso)}`;
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** Most refusals are answered in well under a second; Temporal's connect timeout is 5 s, a dead mon's 10 s. */
const BOUND_MS = 20_000;

interface Case {
  name: string;
  args: () => string[];
  code: number;
  /** The stderr line for a refusal; for exit 0, what stdout must say (stderr must then be empty). */
  says: () => RegExp;
  bound?: number;
  todo?: string;
  /** A run that exits 1 still writes its report: the only change allowed in the destination. */
  report?: boolean;
  setup?: () => Promise<void>;
  teardown?: () => Promise<void>;
}

let cfg: TestConfig;
let dests: string;
let configs: string;
const dest = (key: string) => join(dests, key);
const catalogFile = (image: string) => join(cfg.destination, 'ceph', 'rbd', image, 'catalog.json');

/** A copy of the shared config with one change, as its own file. */
function variant(name: string, change: (doc: Record<string, any>) => void): string {
  const doc = parse(readFileSync(cfg.file, 'utf8')) as Record<string, any>;
  change(doc);
  const file = join(configs, `${name}.yaml`);
  writeFileSync(file, stringify(doc));
  return file;
}
/** The shared config's text with an edit that no YAML library would write. */
function rawVariant(name: string, edit: (text: string) => string): string {
  const file = join(configs, `${name}.yaml`);
  writeFileSync(file, edit(readFileSync(cfg.file, 'utf8')));
  return file;
}

/** A config.ini beside the variants: the shared destination, then `lines`. */
function ini(name: string, lines: string): string {
  const file = join(configs, `${name}.ini`);
  writeFileSync(file, `[default]\nbackup_destination_path = ${cfg.destination}\n${lines}`);
  return file;
}

/** A config.ini in the original's Cinder mode, its openstack.yaml (`yaml`, none if undefined) beside it. */
function cinderIni(name: string, yaml: string | undefined, section = ''): string {
  if (yaml !== undefined) writeFileSync(join(configs, `${name}-openstack.yaml`), yaml);
  return ini(name, `backup_list_from_openstack_yaml_file = True\nopenstack_yaml_file_path = ${name}-openstack.yaml\n${section}`);
}

const c = () => ['--config', cfg.file];
/**
 * A run that reaches the worker needs its own --as-of: the default backup name is the current
 * second, and two different requests under one name are refused as a clash.
 */
let minute = 0;
const freshAsOf = () => ['--as-of', new Date(Date.parse('2032-01-05T00:00:00Z') + ++minute * 60_000).toISOString()];
const runA = (...more: string[]) => ['run', 'rbd/bi-a', ...more, ...c()];
const restoreA = (...more: string[]) => ['restore', 'rbd/bi-a', '--at', compact(SUN), ...more, ...c()];

// ---------------------------------------------------------------- names

/** Names Ceph would take but we refuse: they reach rbd argv and the backup directory. */
const BAD_NAMES: { what: string; name: string }[] = [
  { what: 'a space', name: 'a b' },
  { what: 'unicode', name: 'disk-é' },
  { what: "a leading '-'", name: '-x' },
  { what: "'..'", name: '..' },
  { what: "a ';'", name: 'a;reboot' },
  { what: "a '/'", name: 'a/b' },
  { what: 'nothing', name: '' },
  { what: '256 characters', name: 'a'.repeat(256) },
];

/** What checkName says about `name` as a `kind` name. */
function nameProblem(kind: string, name: string): string {
  if (name === '') return `${kind} name is empty`;
  return `${kind} name ${JSON.stringify(name)}`;
}

const nameCases: Case[] = BAD_NAMES.flatMap(({ what, name }): Case[] => [
  {
    name: `image name with ${what}`,
    args: () => ['run', 'rbd/bi-a', `rbd/${name}`, ...c()],
    code: 2,
    says: () => new RegExp(name.includes('/') ? esc(`image "rbd/${name}" is not POOL/IMAGE`) : esc(nameProblem('image', name))),
  },
  {
    name: `pool name with ${what}`,
    args: () => ['run', 'rbd/bi-a', `${name}/bi-a`, ...c()],
    code: 2,
    // A leading '-' never reaches us: the argument parser reads it as an option.
    says: () =>
      new RegExp(
        name.startsWith('-') ? esc(`unknown option '${name}/bi-a'`) : name.includes('/') ? esc(`image "${name}/bi-a" is not POOL/IMAGE`) : esc(nameProblem('pool', name)),
      ),
  },
  {
    name: `--backup-name with ${what}`,
    args: () => runA('--backup-name', name),
    code: 2,
    says: () => new RegExp(esc(nameProblem('backup', name))),
  },
  {
    name: `restore --to with ${what}`,
    args: () => restoreA('--to', `rbd/${name}`),
    code: 2,
    says: () => new RegExp(`^rbd-backup: --to ${name.includes('/') ? esc(`image "rbd/${name}" is not POOL/IMAGE`) : esc(nameProblem('image', name))}`),
  },
]);

// ---------------------------------------------------------------- the table

const cases: Case[] = [
  // Dates: refused before anything starts, never rolled over into another day.
  { name: 'run --as-of February 30th', args: () => runA('--as-of', '2026-02-30T01:00:00Z'), code: 2, says: () => /--as-of 2026-02-30T01:00:00Z is not a calendar date/ },
  { name: 'run --as-of November 31st', args: () => runA('--as-of', '2026-11-31T01:00:00Z'), code: 2, says: () => /--as-of 2026-11-31T01:00:00Z is not a calendar date/ },
  { name: 'run --as-of hour 24', args: () => runA('--as-of', '2026-11-29T24:00:00Z'), code: 2, says: () => /--as-of 2026-11-29T24:00:00Z is not a time of day/ },
  { name: 'run --as-of without a zone', args: () => runA('--as-of', '2026-11-29T01:00:00'), code: 2, says: () => /--as-of "2026-11-29T01:00:00" is not an ISO 8601 instant with a zone/ },
  { name: 'run --as-of in words', args: () => runA('--as-of', 'yesterday'), code: 2, says: () => /--as-of "yesterday" is not an ISO 8601 instant/ },
  { name: 'restore --at February 30th', args: () => ['restore', 'rbd/bi-a', '--at', '2031-02-30T13:00:00Z', ...c()], code: 2, says: () => /--at 2031-02-30T13:00:00Z is not a calendar date/ },
  { name: 'restore --at hour 24', args: () => ['restore', 'rbd/bi-a', '--at', '2031-12-01T24:00:00Z', ...c()], code: 2, says: () => /--at 2031-12-01T24:00:00Z is not a time of day/ },
  { name: 'restore --at without a zone', args: () => ['restore', 'rbd/bi-a', '--at', '2031-12-01T13:00:00', ...c()], code: 2, says: () => /--at "2031-12-01T13:00:00" is not an ISO 8601 instant with a zone/ },
  { name: 'run --timeout that is no duration', args: () => runA('--timeout', '5x'), code: 2, says: () => /--timeout "5x" is not a duration/ },

  // Names.
  { name: 'image without a pool', args: () => ['run', 'justimage', ...c()], code: 2, says: () => /image "justimage" is not POOL\/IMAGE/ },
  ...nameCases,
  { name: 'run --destination with a path', args: () => runA('--destination', '../elsewhere'), code: 2, says: () => /--destination "\.\.\/elsewhere" is not a destination key/ },
  { name: 'restore --destination that is empty', args: () => restoreA('--destination', ''), code: 2, says: () => /--destination "" is not a destination key/ },

  // The command line itself.
  { name: 'no sub-command', args: () => [], code: 2, says: () => /^rbd-backup: no command given: use one of run, .*, worker \(rbd-backup --help\)$/ },
  { name: 'an unknown sub-command', args: () => ['backup', ...c()], code: 2, says: () => /^rbd-backup: unknown command 'backup'$/ },
  { name: 'a misspelt sub-command', args: () => ['restor', 'rbd/bi-a'], code: 2, says: () => /^rbd-backup: unknown command 'restor' \(Did you mean restore\?\)$/ },
  { name: 'an unknown option', args: () => runA('--fast'), code: 2, says: () => /^rbd-backup: unknown option '--fast'$/ },
  { name: 'an option without its value', args: () => ['run', 'rbd/bi-a', ...c(), '--as-of'], code: 2, says: () => /^rbd-backup: option '--as-of <iso8601>' argument missing$/ },
  { name: 'too many arguments', args: () => ['list', 'rbd/bi-a', 'rbd/bi-never', ...c()], code: 2, says: () => /^rbd-backup: too many arguments for 'list'/ },
  { name: 'a missing argument', args: () => ['restore', ...c()], code: 2, says: () => /^rbd-backup: missing required argument 'image'$/ },

  // Config files.
  // No --config and no RBD_BACKUP_CONFIG: the system path, which does not exist on a test machine.
  { name: 'no --config', args: () => ['run', 'rbd/bi-a'], code: 2, says: () => /\/etc\/rbd-backup\/config\.yaml: cannot read: ENOENT/ },
  { name: 'config file missing', args: () => ['run', 'rbd/bi-a', '--config', join(configs, 'nope.yaml')], code: 2, says: () => /nope\.yaml: cannot read: ENOENT/ },
  { name: 'config is a directory', args: () => ['run', 'rbd/bi-a', '--config', configs], code: 2, says: () => new RegExp(`${esc(configs)}: cannot read: EISDIR`) },
  { name: 'config file empty', args: () => ['list', '--config', rawVariant('empty', () => '')], code: 2, says: () => /empty\.yaml: backup: is required/ },
  { name: 'malformed YAML', args: () => ['run', 'rbd/bi-a', '--config', rawVariant('malformed', (t) => `${t}extra: [unclosed\n`)], code: 2, says: () => /malformed\.yaml: malformed YAML at line \d+/ },
  { name: 'unknown key', args: () => ['run', 'rbd/bi-a', '--config', variant('unknown-key', (d) => (d.backup.destinaton = 'elsewhere'))], code: 2, says: () => /unknown-key\.yaml: backup: unknown key\(s\) "destinaton"/ },
  { name: 'wrong type', args: () => ['run', 'rbd/bi-a', '--config', variant('wrong-type', (d) => (d.backup.concurrency = 'many'))], code: 2, says: () => /wrong-type\.yaml: backup\.concurrency: .*expected number/ },
  { name: 'negative count', args: () => ['worker', '--config', variant('negative', (d) => (d.backup.max_incremental = -1))], code: 2, says: () => /negative\.yaml: backup\.max_incremental/ },
  { name: 'duplicate key', args: () => ['run', 'rbd/bi-a', '--config', rawVariant('duplicate', (t) => t.replace('backup:\n', 'backup:\n  concurrency: 9\n'))], code: 2, says: () => /duplicate\.yaml: backup\.concurrency: duplicate key \(line \d+\)/ },
  { name: 'weekday 8', args: () => ['run', 'rbd/bi-a', '--config', variant('weekday', (d) => (d.backup.full_weekdays = [8]))], code: 2, says: () => /weekday\.yaml: backup\.full_weekdays\[0\]/ },
  { name: 'a day in both weekday lists', args: () => ['worker', '--config', variant('both-lists', (d) => (d.backup.incremental_weekdays = [6, 7]))], code: 2, says: () => /both-lists\.yaml: backup\.full_weekdays: day\(s\) 7 also listed in backup\.incremental_weekdays/ },
  { name: 'unknown time zone', args: () => ['run', 'rbd/bi-a', '--config', variant('zone', (d) => (d.backup.timezone = 'Mars/Olympus'))], code: 2, says: () => /zone\.yaml: backup\.timezone: "Mars\/Olympus" is not a known IANA time zone/ },
  { name: "destination key 'default' in backup.destinations", args: () => ['worker', '--config', variant('default-key', (d) => (d.backup.destinations.default = dest('x')))], code: 2, says: () => /default-key\.yaml: backup\.destinations\.default: the key "default" is backup\.destination/ },
  // The openstack: section (the Cinder image source): its shape when any command loads the
  // config; its secrets and clouds.yaml when the worker starts.
  { name: 'openstack: no volume selection', args: () => ['run', 'rbd/bi-a', '--config', variant('os-nosel', (d) => (d.openstack = { ...OS, volume_names: undefined }))], code: 2, says: () => /os-nosel\.yaml: openstack\.volume_names: name the volumes to back up, or set all_volumes_in_project: true/ },
  { name: 'openstack: unknown key', args: () => ['run', 'rbd/bi-a', '--config', variant('os-key', (d) => (d.openstack = { ...OS, passwd: 'x' }))], code: 2, says: () => /os-key\.yaml: openstack: unknown key\(s\) "passwd"/ },
  { name: 'openstack: auth_url not http(s)', args: () => ['run', 'rbd/bi-a', '--config', variant('os-url', (d) => (d.openstack = { ...OS, auth_url: 'ftp://keystone/v3' }))], code: 2, says: () => /os-url\.yaml: openstack\.auth_url: must be an http\(s\) URL/ },
  { name: 'openstack: two password sources', args: () => ['run', 'rbd/bi-a', '--config', variant('os-pw2', (d) => (d.openstack = { ...OS, password_env: 'OS_PASSWORD' }))], code: 2, says: () => /os-pw2\.yaml: openstack\.password: give one of password, password_file, password_env/ },
  { name: 'worker: openstack password_env not set', args: () => ['worker', '--config', variant('os-env', (d) => (d.openstack = { ...OS, password: undefined, password_env: 'RBD_BI_NO_SUCH_VAR' }))], code: 2, says: () => /^rbd-backup: openstack\.password_env: environment variable RBD_BI_NO_SUCH_VAR is not set in the worker's environment$/ },
  { name: 'worker: openstack password_file missing', args: () => ['worker', '--config', variant('os-pwfile', (d) => (d.openstack = { ...OS, password: undefined, password_file: 'no-such-password' }))], code: 2, says: () => /^rbd-backup: openstack\.password_file: cannot read .*no-such-password: ENOENT$/ },
  { name: 'worker: openstack cloud not in clouds.yaml', args: () => ['worker', '--config', variant('os-cloud', (d) => (d.openstack = { clouds_yaml: cloudsYaml, cloud: 'nope', volume_names: ['vm'] }))], code: 2, says: () => /clouds\.yaml: clouds\.nope: no such cloud \(clouds: prod\)$/ },
  { name: 'worker: openstack Keystone v2.0 URL', args: () => ['worker', '--config', variant('os-v2', (d) => (d.openstack = { ...OS, auth_url: 'http://keystone:35357/v2.0/' }))], code: 2, says: () => /openstack\.auth_url: http:\/\/keystone:35357\/v2\.0\/ is Keystone v2\.0, which is gone/ },
  // The original tool's config.ini: each refusal names the file, the line and the key.
  { name: 'config.ini: an unknown key', args: () => ['run', 'rbd/bi-a', '--config', ini('ini-unknown', 'backup_destinaton = /x\n')], code: 2, says: () => /ini-unknown\.ini:3: unknown key "backup_destinaton"/ },
  { name: 'config.ini: a count that is not an integer', args: () => ['worker', '--config', ini('ini-float', 'backup_concurrent_worker_count = 2.5\n')], code: 2, says: () => /ini-float\.ini:3: backup_concurrent_worker_count: "2\.5" is not an integer$/ },
  { name: 'config.ini: True as the incremental limit', args: () => ['run', 'rbd/bi-a', '--dry-run', '--config', ini('ini-true', 'backup_max_incremental = True\n')], code: 2, says: () => /ini-true\.ini:3: backup_max_incremental: "True" is not an integer \(or False\/0 for unlimited\)/ },
  { name: 'config.ini: a day in both weekday lists', args: () => ['show', 'images', '--config', ini('ini-both', 'weekly_full_backup = 7\nweekly_incr_backup = 1, 7\n')], code: 2, says: () => /ini-both\.ini:3: day\(s\) 7 in both weekly_full_backup and weekly_incr_backup/ },
  { name: 'config.ini: weekday 8', args: () => ['show', 'config', '--config', ini('ini-weekday', 'weekly_full_backup = 8\n')], code: 2, says: () => /ini-weekday\.ini:3: weekly_full_backup: "8" is not a weekday/ },
  { name: 'config.ini: a repeated key', args: () => ['list', '--config', ini('ini-dup', 'backup_destination_path = /y\n')], code: 2, says: () => /ini-dup\.ini:3: backup_destination_path: repeats the key at line 2/ },
  { name: 'config.ini: a second section', args: () => ['run', 'rbd/bi-a', '--config', ini('ini-sections', '[weekly]\nbackup_circle_retain_count = 2\n')], code: 2, says: () => /ini-sections\.ini:3: section \[weekly\]: only \[default\] is read/ },
  { name: 'config.ini: a line that is no key', args: () => ['run', 'rbd/bi-a', '--config', ini('ini-garbage', 'weekly full backup\n')], code: 2, says: () => /ini-garbage\.ini:3: "weekly full backup" is neither "\[section\]" nor "key = value"/ },
  // Its Cinder mode: the openstack.yaml the ini names, and that file's section.
  { name: 'config.ini: Cinder mode, openstack.yaml missing', args: () => ['run', 'rbd/bi-a', '--config', cinderIni('ini-os-missing', undefined)], code: 2, says: () => /ini-os-missing\.ini:4: openstack_yaml_file_path: cannot read .*ini-os-missing-openstack\.yaml: ENOENT$/ },
  { name: 'config.ini: Cinder mode, section missing', args: () => ['config', 'convert', cinderIni('ini-os-section', 'default:\n  volume_names: [vm]\n', 'openstack_yaml_section = prod\n')], code: 2, says: () => /ini-os-section-openstack\.yaml: no section "prod" \(sections: default\)/ },
  { name: 'config.ini: Cinder mode, unknown key', args: () => ['show', 'config', '--config', cinderIni('ini-os-key', 'default:\n  volume_names: [vm]\n  region: RegionOne\n')], code: 2, says: () => /ini-os-key-openstack\.yaml:3: default\.region: unknown key/ },
  { name: 'config.ini: Cinder mode, volume_names missing', args: () => ['worker', '--config', cinderIni('ini-os-novol', 'default:\n  user_name: admin\n')], code: 2, says: () => /ini-os-novol-openstack\.yaml:1: default\.volume_names: is required/ },
  { name: 'config convert of a YAML config', args: () => ['config', 'convert', cfg.file], code: 2, says: () => /config\.yaml: not a config\.ini/ },
  { name: 'config convert of a missing file', args: () => ['config', 'convert', join(configs, 'nope.ini')], code: 2, says: () => /nope\.ini: cannot read: ENOENT/ },
  { name: 'config convert of a section that is not there', args: () => ['config', 'convert', ini('ini-nosection', ''), '--section', 'prod'], code: 2, says: () => /ini-nosection\.ini: no \[prod\] section \(sections: \[default\]\)/ },
  { name: 'show images --as-of February 30th', args: () => ['show', 'images', 'rbd/bi-a', '--as-of', '2031-02-30T13:00:00Z', ...c()], code: 2, says: () => /--as-of 2031-02-30T13:00:00Z is not a calendar date/ },
  { name: 'show cluster --destination with a path', args: () => ['show', 'cluster', '--destination', '../elsewhere', ...c()], code: 2, says: () => /--destination "\.\.\/elsewhere" is not a destination key/ },
  { name: 'run --dry-run to a destination the worker does not have', args: () => ['run', 'rbd/bi-a', '--dry-run', '--destination', 'nope', ...c()], code: 2, says: () => /destination "nope" is not configured on this worker/ },
  { name: 'run --dry-run under a backup name another run used', args: () => ['run', 'rbd/bi-a', '--dry-run', '--backup-name', compact(SUN), ...freshAsOf(), ...c()], code: 2, says: () => new RegExp(`backup name ${compact(SUN)} already exists for rbd/bi-a`) },
  ...(['run', 'verify', 'restore', 'delete', 'worker'] as const).map(
    (cmd): Case => ({
      name: `unknown Temporal namespace (${cmd})`,
      args: () => withConfig(cmd, variant('namespace', (d) => (d.temporal.namespace = 'nope'))),
      code: 2,
      says: () => new RegExp(`temporal\\.namespace: namespace nope does not exist on ${esc(temporal.address)}`),
    }),
  ),
  ...(['run', 'verify', 'restore', 'delete', 'worker'] as const).map(
    (cmd): Case => ({
      name: `Temporal unreachable (${cmd})`,
      args: () => withConfig(cmd, variant('unreachable', (d) => (d.temporal.address = '127.0.0.1:1'))),
      code: 2,
      says: () => /Temporal server at 127\.0\.0\.1:1 is unreachable/,
    }),
  ),
  ...(['run', 'verify', 'delete'] as const).map(
    (cmd): Case => ({
      name: `temporal.address malformed (${cmd})`,
      args: () => withConfig(cmd, variant('badaddress', (d) => (d.temporal.address = 'bad address:zz'))),
      code: 2,
      says: () => /Temporal server at bad address:zz is unreachable: Invalid address/,
    }),
  ),
  ...(['run', 'verify', 'restore'] as const).map(
    (cmd): Case => ({
      name: `no worker polls the task queue (${cmd})`,
      args: () => withConfig(cmd, variant('nobody', (d) => (d.temporal.task_queue = `${cfg.taskQueue}-nobody`))),
      code: 2,
      says: () => new RegExp(`no worker polls task queue ${esc(cfg.taskQueue)}-nobody`),
    }),
  ),
  { name: 'no images and no list file', args: () => ['run', ...freshAsOf(), ...c()], code: 2, says: () => /no images: the run names none and this worker has no backup\.list_file/ },

  // Destinations on `run` (the shared worker has a key for each kind of trouble).
  { name: 'destination does not exist (never created)', args: () => runA('--destination', 'missing', ...freshAsOf()), code: 2, says: () => new RegExp(`backup destination ${esc(dest('missing'))} does not exist: create it or mount the backup disk`) },
  { name: 'destination is a regular file', args: () => runA('--destination', 'file', ...freshAsOf()), code: 2, says: () => new RegExp(`backup destination ${esc(dest('file'))} is not a directory`) },
  {
    name: 'destination is read-only',
    args: () => runA('--destination', 'ro', ...freshAsOf()),
    code: 2,
    says: () => new RegExp(`backup destination ${esc(dest('ro'))} is read-only`),
    setup: async () => {
      await execa('mount', ['--bind', dest('ro'), dest('ro')]);
      await execa('mount', ['-o', 'remount,ro,bind', dest('ro')]);
    },
    teardown: async () => void (await execa('umount', [dest('ro')])),
  },
  { name: '--destination the worker does not have', args: () => runA('--destination', 'offsite', ...freshAsOf()), code: 2, says: () => /destination "offsite" is not configured on this worker \(configured: default, missing, file, ro, cj, dr\)/ },
  { name: 'list with a destination that does not exist', args: () => ['list', '--config', variant('list-missing', (d) => (d.backup.destination = dest('missing')))], code: 2, says: () => new RegExp(`backup\\.destination ${esc(dest('missing'))} does not exist`) },

  // Runs that do not exist: status and cancel have nothing to show or stop (2); cancel needs a run.
  { name: 'status of an unknown run', args: () => ['status', 'bi-no-such-run', ...c()], code: 2, says: () => /^rbd-backup: bi-no-such-run: no backup run rbd-backup-run\/ceph\/bi-no-such-run$/ },
  { name: 'status of an unknown workflow ID', args: () => ['status', 'rbd-backup-run/ceph/bi-nope', ...c()], code: 2, says: () => /^rbd-backup: rbd-backup-run\/ceph\/bi-nope: no backup run rbd-backup-run\/ceph\/bi-nope$/ },
  { name: 'cancel of an unknown run', args: () => ['cancel', 'bi-no-such-run', ...c()], code: 2, says: () => /^rbd-backup: bi-no-such-run: no backup run rbd-backup-run\/ceph\/bi-no-such-run$/ },
  { name: 'cancel without a run', args: () => ['cancel', ...c()], code: 2, says: () => /missing required argument 'run'/ },

  // Images that do not exist or were never backed up. `list` answers from the backup directory
  // (exit 0, "no backups"); `verify` of a named image without backups is a finding (1);
  // restore and delete have nothing to act on (2).
  { name: 'list of a never-backed-up image', args: () => ['list', 'rbd/bi-never', ...c()], code: 0, says: () => /^rbd\/bi-never: no backups$/m },
  { name: 'list of an image that does not exist', args: () => ['list', 'nopool/bi-nosuch', ...c()], code: 0, says: () => /^nopool\/bi-nosuch: no backups$/m },
  { name: 'verify of a never-backed-up image', args: () => ['verify', 'rbd/bi-never', ...c()], code: 1, says: () => /^rbd-backup: verify found problems in 1 of 1 image\(s\); first: rbd\/bi-never: no backups of rbd\/bi-never/ },
  { name: 'verify of an image that does not exist', args: () => ['verify', 'nopool/bi-nosuch', ...c()], code: 1, says: () => /^rbd-backup: verify found problems in 1 of 1 image\(s\); first: nopool\/bi-nosuch: no backups of nopool\/bi-nosuch/ },
  { name: 'restore of a never-backed-up image', args: () => ['restore', 'rbd/bi-never', '--at', compact(SUN), ...c()], code: 2, says: () => /no backups of rbd\/bi-never under / },
  { name: 'restore of an image that does not exist', args: () => ['restore', 'nopool/bi-nosuch', '--at', compact(SUN), ...c()], code: 2, says: () => /no backups of nopool\/bi-nosuch under / },
  { name: 'restore of a point that does not exist', args: () => ['restore', 'rbd/bi-a', '--at', 'no-such-point', ...c()], code: 2, says: () => /no point named no-such-point for rbd\/bi-a/ },
  { name: 'restore without --at', args: () => ['restore', 'rbd/bi-a', ...c()], code: 2, says: () => /--at POINT is required/ },
  { name: 'restore onto its own source', args: () => restoreA('--to', 'rbd/bi-a'), code: 2, says: () => /--to rbd\/bi-a is the source image itself: restore beside it/ },
  { name: 'restore onto its own source with --force', args: () => restoreA('--to', 'rbd/bi-a', '--force'), code: 2, says: () => /--to rbd\/bi-a is the source image itself, even with --force/ },
  { name: 'restore into a pool that does not exist', args: () => restoreA('--to', 'nopool/x'), code: 2, says: () => /target pool nopool not found/ },
  // Disaster recovery: another cluster's backups are named by a plain cluster name and a destination key.
  { name: 'restore --from-cluster the destination does not hold', args: () => restoreA('--from-cluster', 'bi-nosite'), code: 2, says: () => /no backups of cluster bi-nosite in destination default: .*bi-nosite does not exist \(clusters there: ceph\)/ },
  {
    name: 'restore --from-cluster without --to, the source pool missing here',
    args: () => ['restore', 'gone/bi-a', '--at', compact(SUN), '--from-cluster', 'bi-site', '--destination', 'dr', ...c()],
    code: 2,
    says: () => /^rbd-backup: target pool gone not found: without --to the restore goes to the source's pool; create it or name another with --to POOL\/IMAGE$/,
  },
  { name: 'restore --from-cluster that climbs', args: () => restoreA('--from-cluster', '../ceph'), code: 2, says: () => /--from-cluster cluster name "\.\.\/ceph" must not contain '\.\.'/ },
  { name: 'restore --from a directory the config does not name', args: () => restoreA('--from', '/etc'), code: 2, says: () => /--from \/etc is not a destination of this config \(default=/ },
  { name: 'restore --from with --destination', args: () => restoreA('--from', 'ro', '--destination', 'ro'), code: 2, says: () => /--from and --destination both say where to read/ },
  { name: 'list --from-cluster the destination does not hold', args: () => ['list', '--from-cluster', 'bi-nosite', ...c()], code: 2, says: () => /--from-cluster bi-nosite: .*bi-nosite does not exist \(clusters there: ceph\)/ },
  { name: 'verify --from-cluster the destination does not hold', args: () => ['verify', '--from-cluster', 'bi-nosite', ...c()], code: 2, says: () => /no backups of cluster bi-nosite in destination default: .*bi-nosite does not exist \(clusters there: ceph\)/ },
  { name: 'verify of a named image --from-cluster the destination does not hold', args: () => ['verify', 'rbd/bi-a', '--from-cluster', 'bi-nosite', ...c()], code: 2, says: () => /no backups of cluster bi-nosite in destination default: .*bi-nosite does not exist \(clusters there: ceph\)/ },
  { name: 'verify --deep --from-cluster', args: () => ['verify', 'rbd/bi-a', '--deep', '--from-cluster', 'ceph', ...c()], code: 2, says: () => /--deep with --from-cluster ceph: a deep check compares a restore with the source image's snapshots/ },
  { name: 'verify --from with --destination', args: () => ['verify', '--from', 'ro', '--destination', 'ro', ...c()], code: 2, says: () => /--from and --destination both say where to read/ },
  // A cluster directory that is a planted link is unsafe (1), as for restore, not a typo (2).
  { name: 'list --from-cluster of a symbolic link', args: () => ['list', '--from-cluster', 'bi-link', '--from', 'dr', ...c()], code: 1, says: () => /\/dr\/bi-link is a symbolic link, and nothing below the destination may be one: refused$/ },
  { name: 'restore --from-cluster of a symbolic link', args: () => ['restore', 'gone/bi-a', '--at', compact(SUN), '--from-cluster', 'bi-link', '--from', 'dr', '--to', 'rbd/bi-dr', ...c()], code: 1, says: () => /\/dr\/bi-link is a symbolic link, and nothing below the destination may be one: refused$/ },
  // The original tool took the cluster's own directory: the message says which words mean it here.
  { name: 'restore --from a cluster\'s own directory', args: () => restoreA('--from', join(cfg.destination, 'ceph')), code: 2, says: () => /--from \S+\/ceph is the directory of cluster ceph in destination default: use --from default --from-cluster ceph$/ },
  { name: 'list --from a cluster\'s own directory', args: () => ['list', '--from', join(dest('dr'), 'bi-site'), ...c()], code: 2, says: () => /--from \S+\/dr\/bi-site is the directory of cluster bi-site in destination dr: use --from dr --from-cluster bi-site$/ },
  { name: 'delete from a never-backed-up image (--circle)', args: () => ['delete', 'rbd/bi-never', '--circle', snapOf(SUN), ...c()], code: 2, says: () => new RegExp(`no circle ${snapOf(SUN)} for rbd/bi-never`) },
  { name: 'delete from a never-backed-up image (--point)', args: () => ['delete', 'rbd/bi-never', '--point', compact(SUN), ...c()], code: 2, says: () => new RegExp(`no point named ${compact(SUN)} for rbd/bi-never`) },
  { name: 'delete with neither --circle nor --point', args: () => ['delete', 'rbd/bi-a', ...c()], code: 2, says: () => /give exactly one of --circle NAME or --point NAME \(neither was given\)/ },
  { name: 'delete with both --circle and --point', args: () => ['delete', 'rbd/bi-a', '--circle', snapOf(SUN), '--point', compact(TUE), ...c()], code: 2, says: () => /give exactly one of --circle NAME or --point NAME \(both were given\)/ },
  { name: 'delete of a circle that climbs', args: () => ['delete', 'rbd/bi-a', '--circle', '../../etc', ...c()], code: 2, says: () => /deleteBackup input circle: snapshot name "\.\.\/\.\.\/etc" must not contain '\.\.'/ },
  { name: 'delete of a point in the middle of a chain (unsafe)', args: () => ['delete', 'rbd/bi-a', '--point', compact(MON), ...c()], code: 1, says: () => new RegExp(`point ${compact(MON)} is not the newest of circle ${snapOf(SUN)}: deleting it would break ${compact(TUE)}`) },

  // The worker's own start-up: said within seconds, naming the file, the cluster or the user.
  { name: 'worker: keyring missing', args: () => ['worker', '--config', variant('no-keyring', (d) => (d.cluster.keyring = join(configs, 'no.keyring')))], code: 2, says: () => /cluster\.keyring: cannot read .*no\.keyring: ENOENT/ },
  { name: 'worker: ceph.conf missing', args: () => ['worker', '--config', variant('no-conf', (d) => (d.cluster.conf = join(configs, 'no.conf')))], code: 2, says: () => /cluster\.conf: cannot read .*no\.conf: ENOENT/ },
  { name: 'worker: the mon does not answer', args: () => ['worker', '--config', deadMonConfig], code: 2, says: () => /cluster ceph: cannot reach it as client\.admin with .*dead-mon\.conf: .*timed out/ },
  { name: 'worker: cephx refuses the user', args: () => ['worker', '--config', badKeyConfig], code: 2, says: () => /cluster ceph: cannot reach it as client\.admin with .*: .*permission denied/ },
  { name: 'worker: metrics.listen is a host name', args: () => ['worker', '--config', variant('listen-name', (d) => (d.metrics = { listen: 'localhost:9464' }))], code: 2, says: () => /listen-name\.yaml: metrics\.listen: "localhost:9464": the host must be an IPv4 address/ },
  {
    name: 'worker: metrics.listen port already in use',
    setup: async () => {
      taken = createServer();
      await new Promise<void>((res) => taken!.listen(0, '127.0.0.1', res));
    },
    teardown: async () => void (await new Promise((res) => taken?.close(res))),
    args: () => ['worker', '--config', variant('listen-taken', (d) => (d.metrics = { listen: `127.0.0.1:${(taken!.address() as { port: number }).port}` }))],
    code: 2,
    says: () => /metrics\.listen: cannot serve metrics on 127\.0\.0\.1:\d+: the address is already in use/,
  },

  // Damaged backup data: a data problem (exit 1) said in one line naming the file and how to
  // rebuild it, within seconds (no retry loop), and nothing deleted.
  ...(['list', 'verify', 'restore', 'run'] as const).flatMap((cmd): Case[] =>
    (['bi-trunc', 'bi-shape'] as const).map(
      (image): Case => ({
        name: `${cmd} with a ${image === 'bi-trunc' ? 'truncated' : 'wrong-shape'} catalog`,
        args: () => (cmd === 'restore' ? ['restore', `rbd/${image}`, '--at', compact(SUN), ...c()] : cmd === 'run' ? ['run', `rbd/${image}`, ...freshAsOf(), ...c()] : [cmd, `rbd/${image}`, ...c()]),
        code: 1,
        says: () => new RegExp(`${esc(catalogFile(image))}.*rbd-backup catalog rebuild rbd/${image}`),
        report: cmd === 'run',
      }),
    ),
  ),
  {
    name: 'delete when the catalog names a file outside its circle',
    args: () => ['delete', 'rbd/bi-outside', '--point', compact(WED), ...c()],
    code: 1,
    says: () => new RegExp(`${esc(catalogFile('bi-outside'))}.*rbd-backup catalog rebuild rbd/bi-outside`),
  },
  {
    name: 'run with a corrupt cluster.json',
    args: () => ['run', 'rbd/bi-a', '--destination', 'cj', ...freshAsOf(), ...c()],
    code: 1,
    says: () => new RegExp(esc(join(dest('cj'), 'ceph', 'cluster.json'))),
  },
];

function withConfig(cmd: 'run' | 'verify' | 'restore' | 'delete' | 'worker', file: string): string[] {
  switch (cmd) {
    case 'run':
      return ['run', 'rbd/bi-a', '--config', file];
    case 'verify':
      return ['verify', 'rbd/bi-a', '--config', file];
    case 'restore':
      return ['restore', 'rbd/bi-a', '--at', compact(SUN), '--config', file];
    case 'delete':
      return ['delete', 'rbd/bi-a', '--point', compact(TUE), '--config', file];
    case 'worker':
      return ['worker', '--config', file];
  }
}

/** A valid openstack: section (Keystone is never asked: each case fails before). */
const OS = { auth_url: 'http://127.0.0.1:1/v3', username: 'backup', password: 'not-used', project_name: 'ops', volume_names: ['vm-1'] };
let cloudsYaml: string;
let deadMonConfig: string;
/** A port somebody else listens on, for the metrics endpoint case. */
let taken: Server | undefined;
let badKeyConfig: string;

// ---------------------------------------------------------------- what "nothing happened" means


/** Images and their snapshots: a snapshot taken, or an image created by a restore, shows. */
async function clusterState(): Promise<unknown> {
  return JSON.parse(await rbd('ls', '-l', 'rbd', '--format', 'json'));
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
  const port = (s.address() as { port: number }).port;
  await new Promise((res) => s.close(res));
  return port;
}

/** The CLI, killed after `ms`: a case that hangs must fail, not hold up the suite. */
async function cliWithin(ms: number, args: string[]): Promise<{ code: number | undefined; stdout: string; stderr: string; timedOut: boolean; elapsed: number }> {
  const t0 = Date.now();
  const r = await execa(process.execPath, [cliPath, ...args], { reject: false, stdin: 'ignore', timeout: ms });
  return { code: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr), timedOut: !!r.timedOut, elapsed: Date.now() - t0 };
}

/** A killed CLI leaves its workflow running (and maybe an image's mutex held): end it. */
async function terminateRunning(taskQueue: string): Promise<void> {
  const connection = await Connection.connect({ address: temporal.address });
  try {
    const client = new Client({ connection });
    for await (const w of client.workflow.list({ query: `TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"` })) {
      await client.workflow.getHandle(w.workflowId, w.runId).terminate('bad-input test: the command was killed').catch(() => undefined);
    }
  } finally {
    await connection.close();
  }
}

describe('bad input: the documented exit code, one line naming the culprit, nothing written, no snapshot, in seconds', () => {
  let worker: RunningWorker;

  before(async () => {
    cfg = writeConfig('badin', { full_weekdays: [7], incremental_weekdays: [1, 2, 3, 4, 5, 6], max_incremental: 2, snapshot_retain_count: 1 });
    dests = join(cfg.dir, 'dests');
    configs = tempDir('badin-configs');
    mkdirSync(dest('ro'), { recursive: true });
    writeFileSync(dest('file'), 'not a directory\n');
    const doc = parse(readFileSync(cfg.file, 'utf8')) as Record<string, any>;
    doc.backup.destinations = { missing: dest('missing'), file: dest('file'), ro: dest('ro'), cj: dest('cj'), dr: dest('dr') };
    writeFileSync(cfg.file, stringify(doc));
    // A cluster.json cut short, as a crash in the middle of a copy leaves it.
    mkdirSync(join(dest('cj'), 'ceph'), { recursive: true });
    writeFileSync(join(dest('cj'), 'ceph', 'cluster.json'), `{"format": "rbd-backup/cluster@1", "name": "ceph", "fsid": "${ceph.fsid.slice(0, 8)}`);

    const [p2, p1] = [await freePort(), await freePort()];
    const deadConf = join(configs, 'dead-mon.conf');
    writeFileSync(deadConf, readFileSync(ceph.conf, 'utf8').replace(/^mon host = .*$/m, `mon host = [v2:127.0.0.1:${p2},v1:127.0.0.1:${p1}]`));
    deadMonConfig = variant('dead-mon', (d) => (d.cluster.conf = deadConf));
    cloudsYaml = join(configs, 'clouds.yaml');
    writeFileSync(cloudsYaml, stringify({ clouds: { prod: { auth: { auth_url: 'http://127.0.0.1:1/v3', username: 'u', password: 'p', project_name: 'p' } } } }));
    // A well-formed cephx key for client.admin that the cluster never issued.
    const key = Buffer.concat([Buffer.from([1, 0]), Buffer.alloc(8), Buffer.from([16, 0]), randomBytes(16)]).toString('base64');
    const badKeyring = join(configs, 'made-up.keyring');
    writeFileSync(badKeyring, `[client.admin]\n\tkey = ${key}\n`);
    badKeyConfig = variant('made-up-key', (d) => (d.cluster.keyring = badKeyring));

    for (const image of ['bi-a', 'bi-never', 'bi-trunc', 'bi-shape', 'bi-outside']) await createImage('rbd', image, 4, 1);
    worker = await startWorker(cfg.file);
    // bi-a and bi-outside: a full and two diffs; bi-outside then a second circle (max_incremental
    // is 2). bi-trunc and bi-shape: one full each, whose catalogs are then damaged.
    for (const [asOf, images] of [
      [SUN, ['bi-a', 'bi-trunc', 'bi-shape', 'bi-outside']],
      [MON, ['bi-a', 'bi-outside']],
      [TUE, ['bi-a', 'bi-outside']],
      [WED, ['bi-outside']],
    ] as const) {
      const r = await cliWithin(120_000, ['run', ...images.map((i) => `rbd/${i}`), '--as-of', asOf, ...c()]);
      assert.equal(r.code, 0, `set-up run as of ${asOf}: ${r.stderr}`);
    }

    // Another cluster's backups of an image in a pool this cluster does not have (disaster recovery).
    cpSync(join(cfg.destination, 'ceph', 'rbd', 'bi-a'), join(dest('dr'), 'bi-site', 'gone', 'bi-a'), { recursive: true });
    symlinkSync(join(dest('dr'), 'bi-site'), join(dest('dr'), 'bi-link'));
    writeFileSync(join(dest('dr'), 'bi-site', 'cluster.json'), JSON.stringify({ format: 'rbd-backup/cluster@1', name: 'bi-site', fsid: '00000000-0000-4000-8000-000000000000', createdAt: SUN }));

    const trunc = readFileSync(catalogFile('bi-trunc'), 'utf8');
    writeFileSync(catalogFile('bi-trunc'), trunc.slice(0, Math.floor(trunc.length / 2)));
    const shape = JSON.parse(readFileSync(catalogFile('bi-shape'), 'utf8')) as Record<string, unknown>;
    writeFileSync(catalogFile('bi-shape'), JSON.stringify({ ...shape, circles: { [snapOf(SUN)]: shape.circles } }, null, 2));
    // The newest point of the second circle claims the first circle's full: deleting that point
    // must not take the full (and the whole first circle's chain) with it.
    const outside = JSON.parse(readFileSync(catalogFile('bi-outside'), 'utf8')) as ImageCatalog;
    assert.deepEqual(outside.circles.map((x) => x.points.length), [3, 1]);
    outside.circles[1]!.points[0]!.file = `${snapOf(SUN)}/${snapOf(SUN)}.full`;
    writeFileSync(catalogFile('bi-outside'), JSON.stringify(outside, null, 2));
  });
  after(async () => worker?.stop());

  test(`the table has at least 40 cases (${cases.length})`, () => {
    assert.ok(cases.length >= 40);
    assert.equal(new Set(cases.map((x) => x.name)).size, cases.length, 'case names are unique');
  });

  for (const k of cases) {
    test(k.name, k.todo ? { todo: k.todo } : {}, async () => {
      const bound = k.bound ?? BOUND_MS;
      // A run's report goes to reports/ or .reports/, depending on the catalog format.
      const skipReports = (rel: string) => !!k.report && /^ceph\/\.?reports(\/|$)/.test(rel);
      const before = { dest: listing(cfg.destination, skipReports), dests: listing(dests), cluster: await clusterState() };
      await k.setup?.();
      let r;
      try {
        r = await cliWithin(bound + 5_000, k.args());
      } finally {
        await k.teardown?.();
      }
      if (r.timedOut) await terminateRunning(cfg.taskQueue);
      const what = `exit ${r.code} after ${r.elapsed} ms\nstderr: ${r.stderr}\nstdout: ${r.stdout.slice(0, 2000)}`;
      assert.ok(!r.timedOut && r.elapsed < bound, `ends within ${bound} ms: ${what}`);
      assert.equal(r.code, k.code, what);
      if (k.code === 0) {
        assert.equal(r.stderr, '', what);
        assert.match(r.stdout, k.says(), what);
      } else {
        const lines = r.stderr.split('\n').filter((l) => l !== '');
        assert.equal(lines.length, 1, `one line on stderr: ${what}`);
        assert.match(lines[0]!, /^rbd-backup: \S/, what);
        assert.match(lines[0]!, k.says(), what);
        assert.doesNotMatch(r.stderr, /\n\s+at |node:internal|\.js:\d+:\d+/, `no stack trace: ${what}`);
      }
      assert.deepEqual(listing(cfg.destination, skipReports), before.dest, 'nothing written in the destination');
      assert.deepEqual(listing(dests), before.dests, 'nothing written in the other destinations');
      assert.equal(existsSync(dest('missing')), false, 'a missing destination is never created');
      assert.deepEqual(await clusterState(), before.cluster, 'no snapshot taken, no image created');
    });
  }
});
