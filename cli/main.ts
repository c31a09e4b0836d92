#!/usr/bin/env node
/** The `rbd-backup` command: parse, call, print, exit. No logic lives here. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { errorLine, exitOnError, EXIT_BAD_INPUT } from './exit.js';

// dist/cli/main.js → the package's own package.json, two floors up.
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

// A reader that goes away (`rbd-backup run | head -1`) must not turn into a crash with a stack
// trace and exit 1: what is left to print is dropped, and the command ends with its own code.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
});

const program = new Command('rbd-backup')
  .description('Durable backup and restore of Ceph RBD images, orchestrated by Temporal')
  .version(version, '-V, --version')
  .exitOverride()
  .configureOutput({
    // Usage errors read like every other refusal: one line, `rbd-backup: ` and the culprit
    // (commander puts its "Did you mean" on a second line).
    outputError: (s) => errorLine(s.replace(/^error: /, '')),
    // Only help written *because of an error* comes here (a missing sub-command): that is said
    // in one line below instead; --help still prints the whole help on stdout.
    writeErr: () => undefined,
  });

type Option = readonly [flags: string, description: string];
const configOpt: Option = ['-c, --config <file>', 'config file (YAML, or the original config.ini; default: $RBD_BACKUP_CONFIG, else /etc/rbd-backup/config.yaml)'];
const destinationOpt: Option = ['--destination <key>', "a destination key of the worker's config (default: backup.destination)"];
const jsonOpt: Option = ['--json', 'print one JSON document on stdout'];

/** Every command as data: its words, its argument, its options and the function that does it. */
interface CommandSpec {
  path: string[];
  description: string;
  argument?: Option;
  /** A second positional argument (after `argument`). */
  rest?: Option;
  options: Option[];
  /**
   * Loaded only when its command runs: the Temporal client, the worker and zod cost most of a
   * second to load, which `--help` or `list` should not pay.
   */
  load: () => Promise<(...args: never[]) => Promise<number>>;
}

const commands: CommandSpec[] = [
  {
    path: ['run'],
    description: 'back up images (POOL/IMAGE arguments replace backup.list_file) and print the report',
    argument: ['[images...]', 'POOL/IMAGE to back up'],
    options: [
      configOpt,
      ['--backup-name <name>', 'name of this backup (default: the run time, e.g. 20261126T010000Z)'],
      ['--as-of <iso8601>', 'act as if the run started at this instant (tests, catch-up)'],
      destinationOpt,
      ['--no-wait', 'start the run and return its workflow ID'],
      ['--timeout <duration>', 'stop waiting after this long (90s, 10m, 2h, 1d) and exit 3; the run goes on'],
      ['--dry-run', 'print what the run would do (each image: full, incremental or not, and why); take no snapshot, write nothing'],
      jsonOpt,
    ],
    load: async () => (await import('./run.js')).runCommand,
  },
  {
    path: ['status'],
    description: 'show a backup run per image: phase and bytes, with run totals, rate and ETA',
    argument: ['[run]', 'backup name or workflow ID (default: the newest backup run of the cluster)'],
    options: [configOpt, ['--watch', 'refresh every 2 s until the run closes'], jsonOpt],
    load: async () => (await import('./status.js')).statusCommand,
  },
  {
    path: ['cancel'],
    description: "cancel a backup run: exports in flight stop, the run's snapshots are removed, finished images keep their points",
    argument: ['<run>', 'backup name or workflow ID'],
    options: [configOpt, jsonOpt],
    load: async () => (await import('./cancel.js')).cancelCommand,
  },
  {
    path: ['list'],
    description: 'list circles and points in the backup directory',
    argument: ['[image]', 'POOL/IMAGE'],
    options: [
      configOpt,
      ['--from-cluster <name>', "list the backups filed under this cluster name (default: the config's cluster)"],
      ['--from <key|dir>', 'list this destination: a key of the config, or the directory of one'],
      jsonOpt,
    ],
    load: async () => (await import('./list.js')).listCommand,
  },
  ...showCommands(),
  {
    path: ['restore'],
    description: 'restore an image at a backup point (chain and checksums verified before the cluster is touched)',
    argument: ['<image>', 'POOL/IMAGE that was backed up'],
    options: [
      configOpt,
      ['--at <point>', 'backup name, snapshot name, or ISO 8601 instant (newest point at or before it)'],
      ['--to <image>', 'target POOL/IMAGE (default: a new name beside the source, printed)'],
      destinationOpt,
      ['--from-cluster <name>', "restore from the backups filed under this cluster name (another cluster's, or this name before a rebuild)"],
      ['--from <key|dir>', 'read from this destination: a key of the config, or the directory of one (instead of --destination)'],
      ['--force', 'replace an existing target image (and its snapshots) once the restored image is complete'],
      ['--keep-snapshots', "keep the chain's snapshots on the restored image"],
      ['--check-image', "read the restored image back and checksum it before it becomes the target (a full alone: compared with the full's sha256)"],
      jsonOpt,
    ],
    load: async () => (await import('./restore.js')).restoreCommand,
  },
  {
    path: ['verify'],
    description: "check every stored file against the catalog's sha256; --deep also restores and compares",
    argument: ['[image]', 'POOL/IMAGE (default: every image in the backup directory)'],
    options: [
      configOpt,
      destinationOpt,
      ['--from-cluster <name>', "verify the backups filed under this cluster name (another cluster's: read only, without --deep)"],
      ['--from <key|dir>', 'verify this destination: a key of the config, or the directory of one'],
      ['--deep', 'restore the newest point to a scratch image and compare it byte for byte with its snapshot'],
      jsonOpt,
    ],
    load: async () => (await import('./verify.js')).verifyCommand,
  },
  {
    path: ['delete'],
    description: 'delete a whole circle, or the newest point of a circle',
    argument: ['<image>', 'POOL/IMAGE'],
    options: [
      configOpt,
      destinationOpt,
      ['--circle <name>', 'circle to delete with all its points'],
      ['--point <name>', 'newest point of a circle to delete (a backup or snapshot name)'],
      jsonOpt,
    ],
    load: async () => (await import('./delete.js')).deleteCommand,
  },
  {
    path: ['catalog', 'rebuild'],
    description:
      'rebuild catalog.json from the circle directories (manifests, else file names, diff headers and recomputed sha256); without POOL/IMAGE, every image whose catalog cannot be read',
    argument: ['[image]', 'POOL/IMAGE'],
    options: [configOpt, destinationOpt, ['--replace', 'also replace a catalog.json that reads fine'], jsonOpt],
    load: async () => (await import('./catalog.js')).catalogRebuildCommand,
  },
  {
    path: ['history'],
    description: 'runs newest first from Temporal visibility: backup runs, or with POOL/IMAGE every workflow of that image',
    argument: ['[image]', 'POOL/IMAGE'],
    options: [
      configOpt,
      ['--since <when>', 'only runs started since this ISO 8601 instant or this long ago (2h, 7d)'],
      ['--status <status>', 'running, completed, failed, cancelled, terminated or timed-out'],
      ['--limit <n>', 'at most this many runs (default 20)'],
      jsonOpt,
    ],
    load: async () => (await import('./history.js')).historyCommand,
  },
  ...scheduleCommands(),
  {
    path: ['worker'],
    description: 'run the Temporal worker for this cluster',
    options: [configOpt],
    load: async () => (await import('./worker.js')).workerCommand,
  },
];

/** The `schedule` sub-commands; each module function takes (NAME, [images,] options). */
function scheduleCommands(): CommandSpec[] {
  const name: Option = ['<name>', 'schedule name (letters, digits, _ . -)'];
  const timing: Option[] = [
    ['--cron <expr>', "five-field cron expression, e.g. '0 1 * * *'"],
    ['--every <duration>', 'an interval instead of a cron expression (90s, 10m, 2h, 1d)'],
    ['--timezone <tz>', 'IANA time zone of the cron expression (default: backup.timezone)'],
    ['--overlap <policy>', 'skip (default), buffer-one, buffer-all, cancel-other or allow-all'],
    ['--catchup-window <duration>', 'run a missed slot if the server comes back within this long (default 6h)'],
    ['--jitter <duration>', 'start each run up to this much later, at random'],
    ['--note <text>', 'a note kept with the schedule'],
  ];
  const load = (f: keyof typeof import('./schedule.js')) => async () => (await import('./schedule.js'))[f] as (...args: never[]) => Promise<number>;
  return [
    {
      path: ['schedule', 'create'],
      description: 'create a schedule that starts backupRun (the worker reads its policy, list file and Cinder volumes at each run)',
      argument: name,
      rest: ['[images...]', 'POOL/IMAGE to back up instead of the list file and Cinder volumes'],
      options: [configOpt, ...timing, ['--paused', 'create it paused'], destinationOpt, jsonOpt],
      load: load('scheduleCreateCommand'),
    },
    { path: ['schedule', 'update'], description: "change a schedule's timing, overlap, catch-up window or note", argument: name, options: [configOpt, ...timing, jsonOpt], load: load('scheduleUpdateCommand') },
    { path: ['schedule', 'describe'], description: 'spec, paused state and note, next run times and recent runs with their status', argument: name, options: [configOpt, jsonOpt], load: load('scheduleDescribeCommand') },
    { path: ['schedule', 'list'], description: "this cluster's schedules", options: [configOpt, jsonOpt], load: load('scheduleListCommand') },
    { path: ['schedule', 'pause'], description: 'pause a schedule', argument: name, options: [configOpt, ['--note <text>', 'why'], jsonOpt], load: load('schedulePauseCommand') },
    { path: ['schedule', 'unpause'], description: 'unpause a schedule', argument: name, options: [configOpt, ['--note <text>', 'why'], jsonOpt], load: load('scheduleUnpauseCommand') },
    { path: ['schedule', 'trigger'], description: "start a run now (the schedule's overlap policy applies)", argument: name, options: [configOpt, jsonOpt], load: load('scheduleTriggerCommand') },
    {
      path: ['schedule', 'backfill'],
      description: 'run every slot of the schedule between --from and --to, each as of its nominal time (overlap buffer-all)',
      argument: name,
      options: [configOpt, ['--from <iso8601>', 'start of the range'], ['--to <iso8601>', 'end of the range'], jsonOpt],
      load: load('scheduleBackfillCommand'),
    },
    { path: ['schedule', 'delete'], description: 'delete a schedule (its runs are kept)', argument: name, options: [configOpt, jsonOpt], load: load('scheduleDeleteCommand') },
  ];
}

/** `show …` and `config convert`: what rbd-backup sees and the original tool's config.ini, touching nothing. */
function showCommands(): CommandSpec[] {
  const load = (f: 'showClusterCommand' | 'showConfigCommand' | 'showImagesCommand') => async () => (await import('./show.js'))[f] as (...args: never[]) => Promise<number>;
  return [
    {
      path: ['show', 'cluster'],
      description: "the worker's cluster: name, fsid, monitors, pools, and the destination's cluster.json",
      options: [configOpt, destinationOpt, jsonOpt],
      load: load('showClusterCommand'),
    },
    {
      path: ['show', 'config'],
      description: 'the effective config, each key with the file and line it was set at or "default" (secrets masked)',
      options: [configOpt, jsonOpt],
      load: load('showConfigCommand'),
    },
    {
      path: ['show', 'images'],
      description: 'what the next run would back up, full or incremental, and why (the same plan as run --dry-run; touches nothing)',
      argument: ['[images...]', 'POOL/IMAGE (default: the worker\'s list file and/or Cinder volumes)'],
      options: [
        configOpt,
        destinationOpt,
        ['--as-of <iso8601>', 'plan as if the run started at this instant'],
        ['--backup-name <name>', 'the run name to check for clashes'],
        jsonOpt,
      ],
      load: load('showImagesCommand'),
    },
    {
      path: ['config', 'convert'],
      description: "print the YAML config equivalent to the original tool's config.ini, with comments (rbd-backup config convert config.ini > config.yaml)",
      argument: ['<file>', 'config.ini'],
      options: [['--section <name>', 'the section to convert (default: default)']],
      load: async () => (await import('./config.js')).configConvertCommand,
    },
  ];
}

const groups: Record<string, string> = {
  catalog: 'maintain the catalog (catalog.json) of the backup directory',
  show: 'what rbd-backup sees: the cluster, the effective config, the next run\'s images; touches nothing',
  config: "the original tool's config.ini",
  schedule: 'Temporal schedules of backup runs (ID rbd-backup/<cluster>/<NAME>)',
};
for (const spec of commands) {
  let parent = program;
  for (const word of spec.path.slice(0, -1)) {
    parent = parent.commands.find((c) => c.name() === word) ?? parent.command(word).description(groups[word] ?? '');
  }
  const cmd = parent.command(spec.path.at(-1)!).description(spec.description);
  if (spec.argument) cmd.argument(...spec.argument);
  if (spec.rest) cmd.argument(...spec.rest);
  for (const o of spec.options) cmd.option(...o);
  // Commander's last argument is the Command itself; ours take the argument and the options.
  cmd.action(async (...args: unknown[]) => {
    const run = (await spec.load()) as (...a: unknown[]) => Promise<number>;
    const code = await run(...args.slice(0, -1));
    // process.exit drops what a pipe has not taken yet: a --json report of a large run is far
    // over the 64 KiB a pipe holds. The empty write's callback runs once everything before it is out.
    // A reader that went away (`| head`) errors the write instead: the command's code still stands.
    await new Promise<void>((done) => {
      process.stdout.once('error', () => done());
      process.stdout.write('', () => done());
    });
    process.exit(code);
  });
}

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.help' && e.exitCode !== 0) {
      errorLine(`no command given: use one of ${program.commands.map((c) => c.name()).join(', ')} (rbd-backup --help)`);
    }
    process.exit(e.exitCode === 0 ? 0 : EXIT_BAD_INPUT);
  }
  exitOnError(e);
}
