#!/usr/bin/env node
/** The `rbd-backup` command: parse, call, print, exit. No logic lives here. */
import { Command, CommanderError } from 'commander';
import { errorLine, exitOnError, EXIT_BAD_INPUT } from './common.js';
import { runCommand } from './run.js';
import { listCommand } from './list.js';
import { workerCommand } from './worker.js';
import { catalogRebuildCommand } from './catalog.js';
import { restoreCommand } from './restore.js';
import { verifyCommand } from './verify.js';
import { deleteCommand } from './delete.js';

const program = new Command('rbd-backup')
  .description('Durable backup and restore of Ceph RBD images, orchestrated by Temporal')
  .exitOverride()
  .configureOutput({
    // Usage errors read like every other refusal: one line, `rbd-backup: ` and the culprit
    // (commander puts its "Did you mean" on a second line).
    outputError: (s) => errorLine(s.replace(/^error: /, '')),
    // Only help written *because of an error* comes here (a missing sub-command): that is said
    // in one line below instead; --help still prints the whole help on stdout.
    writeErr: () => undefined,
  });

const configOpt = ['-c, --config <file>', 'config file (YAML)'] as const;

program
  .command('run')
  .description('back up images (POOL/IMAGE arguments replace backup.list_file) and print the report')
  .argument('[images...]', 'POOL/IMAGE to back up')
  .option(...configOpt)
  .option('--backup-name <name>', 'name of this backup (default: the run time, e.g. 20261126T010000Z)')
  .option('--as-of <iso8601>', 'act as if the run started at this instant (tests, catch-up)')
  .option('--destination <key>', 'a destination key of the worker\'s config (default: backup.destination)')
  .option('--no-wait', 'start the run and return its workflow ID')
  .option('--timeout <duration>', 'stop waiting after this long (90s, 10m, 2h, 1d) and exit 3; the run goes on')
  .option('--json', 'print one JSON document on stdout')
  .action(async (images: string[], o) => process.exit(await runCommand(images, o)));

program
  .command('list')
  .description('list circles and points in the backup directory')
  .argument('[image]', 'POOL/IMAGE')
  .option(...configOpt)
  .option('--json', 'print one JSON document on stdout')
  .action(async (image: string | undefined, o) => process.exit(await listCommand(image, o)));

program
  .command('restore')
  .description('restore an image at a backup point (chain and checksums verified before the cluster is touched)')
  .argument('<image>', 'POOL/IMAGE that was backed up')
  .option(...configOpt)
  .option('--at <point>', 'backup name, snapshot name, or ISO 8601 instant (newest point at or before it)')
  .option('--to <image>', 'target POOL/IMAGE (default: a new name beside the source, printed)')
  .option('--destination <key>', "a destination key of the worker's config (default: backup.destination)")
  .option('--force', 'replace an existing target image (and its snapshots) once the restored image is complete')
  .option('--keep-snapshots', "keep the chain's snapshots on the restored image")
  .option('--json', 'print one JSON document on stdout')
  .action(async (image: string, o) => process.exit(await restoreCommand(image, o)));

program
  .command('verify')
  .description("check every stored file against the catalog's sha256; --deep also restores and compares")
  .argument('[image]', 'POOL/IMAGE (default: every image in the backup directory)')
  .option(...configOpt)
  .option('--destination <key>', "a destination key of the worker's config (default: backup.destination)")
  .option('--deep', 'restore the newest point to a scratch image and compare it byte for byte with its snapshot')
  .option('--json', 'print one JSON document on stdout')
  .action(async (image: string | undefined, o) => process.exit(await verifyCommand(image, o)));

program
  .command('delete')
  .description('delete a whole circle, or the newest point of a circle')
  .argument('<image>', 'POOL/IMAGE')
  .option(...configOpt)
  .option('--destination <key>', "a destination key of the worker's config (default: backup.destination)")
  .option('--circle <name>', 'circle to delete with all its points')
  .option('--point <name>', 'newest point of a circle to delete (a backup or snapshot name)')
  .option('--json', 'print one JSON document on stdout')
  .action(async (image: string, o) => process.exit(await deleteCommand(image, o)));

const catalog = program.command('catalog').description('maintain the catalog (catalog.json) of the backup directory');
catalog
  .command('rebuild')
  .description("rebuild catalog.json from the circle directories (manifests, else file names, diff headers and recomputed sha256); without POOL/IMAGE, every image whose catalog cannot be read")
  .argument('[image]', 'POOL/IMAGE')
  .option(...configOpt)
  .option('--destination <key>', "a destination key of the worker's config (default: backup.destination)")
  .option('--replace', 'also replace a catalog.json that reads fine')
  .option('--json', 'print one JSON document on stdout')
  .action(async (image: string | undefined, o) => process.exit(await catalogRebuildCommand(image, o)));

program
  .command('worker')
  .description('run the Temporal worker for this cluster')
  .option(...configOpt)
  .action(async (o) => process.exit(await workerCommand(o)));

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
