import { stat } from 'node:fs/promises';
import { Catalog } from '../catalog/catalog.js';
import { InputError } from '../config/config.js';
import { parseImageSpec } from '../names/names.js';
import { EXIT_OK, configFrom, humanBytes, printJson } from './common.js';

export async function listCommand(image: string | undefined, o: { config?: string; json?: boolean }): Promise<number> {
  const cfg = configFrom(o);
  const ref = image ? parseImageSpec(image) : undefined;
  await checkReadableDestination(cfg.backup.destination);
  const catalog = new Catalog(cfg.backup.destination, cfg.cluster.name);
  const refs = ref ? [ref] : await catalog.images();
  const images = await Promise.all(refs.map((r) => catalog.load(r)));
  if (o.json) {
    printJson({ cluster: cfg.cluster.name, destination: catalog.root, images });
    return EXIT_OK;
  }
  const out: string[] = [];
  for (const c of images) {
    out.push(`${c.pool}/${c.image}${c.circles.length ? '' : ': no backups'}`);
    for (const circle of c.circles) {
      out.push(`  circle ${circle.name}`);
      for (const p of circle.points) {
        out.push(
          `    ${p.backupName}  ${p.type.padEnd(4)}  ${p.snapshot}  from=${p.fromSnapshot ?? '-'}  ${p.file}  ${humanBytes(p.bytes)}  sha256=${p.sha256}  ${p.exportedAt}`,
        );
      }
    }
  }
  if (!images.length) out.push(`no backups under ${catalog.root}`);
  process.stdout.write(out.join('\n') + '\n');
  return EXIT_OK;
}

/**
 * An unmounted backup disk is not "no backups": it is said as such (exit 2), like `run` does,
 * so nobody concludes from an empty listing that the backups are gone.
 */
async function checkReadableDestination(path: string): Promise<void> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new InputError(`backup.destination ${path} ${e.code === 'ENOENT' ? 'does not exist: is the backup disk mounted?' : `cannot be read (${e.code ?? String(e)})`}`);
  });
  if (!st.isDirectory()) throw new InputError(`backup.destination ${path} is not a directory`);
}
