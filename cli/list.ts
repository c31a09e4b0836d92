import { lstat, stat } from 'node:fs/promises';
import { Catalog, UnsafePathError, type ImageCatalog } from '../src/catalog/catalog.js';
import { clustersIn } from '../src/catalog/clusters.js';
import { LINK } from '../src/fs/safe-path.js';
import { destinationPath, InputError } from '../src/config/config.js';
import { parseImageSpec, imageKey, type ImageRef } from '../src/names/names.js';
import { EXIT_FAILED, EXIT_OK, configFrom, errorLine, humanBytes, printJson } from './common.js';
import { formatTable, type Column } from './table.js';
import { fromClusterOption, fromOption } from './source.js';

export type Listed = ImageCatalog | (ImageRef & { error: string });

export async function listCommand(image: string | undefined, o: { config?: string; from?: string; fromCluster?: string; json?: boolean }): Promise<number> {
  const cfg = configFrom(o);
  const ref = image ? parseImageSpec(image) : undefined;
  const key = fromOption(cfg, { ...(o.from !== undefined ? { from: o.from } : {}) }).destination;
  const { fromCluster } = fromClusterOption(o.fromCluster);
  const destination = destinationPath(cfg, key);
  await checkReadableDestination(destination, key ? `backup.destinations.${key}` : 'backup.destination');
  const catalog = new Catalog(destination, fromCluster ?? cfg.cluster.name);
  // Another cluster's name that is not there is a typo until shown otherwise: say what is there.
  if (fromCluster !== undefined) await checkClusterDir(catalog.root, fromCluster, destination);
  const refs = ref ? [ref] : await catalog.images();
  // Images are found by their data: one unreadable catalog is reported, the others still listed.
  const images: Listed[] = await Promise.all(
    refs.map((r) =>
      catalog.load(r).catch((e: unknown) => {
        if (e instanceof Error && e.name === 'CatalogUnreadableError') return { pool: r.pool, image: r.image, error: e.message };
        throw e;
      }),
    ),
  );
  const broken = images.filter((c): c is ImageRef & { error: string } => 'error' in c);
  if (o.json) printJson({ cluster: catalog.cluster, destination: catalog.root, images });
  else {
    const out = formatList(images);
    if (!images.length) out.push(`no backups under ${catalog.root}`);
    process.stdout.write(out.join('\n') + '\n');
  }
  if (broken.length) errorLine(broken.length === 1 ? broken[0]!.error : `${broken.length} image(s) have an unreadable catalog; first: ${broken[0]!.error}`);
  return broken.length ? EXIT_FAILED : EXIT_OK;
}

const COLUMNS: Column[] = [
  { title: 'IMAGE' },
  { title: 'CIRCLE' },
  { title: 'BACKUP' },
  { title: 'TYPE' },
  { title: 'SIZE', right: true },
  { title: 'EXPORTED' },
  { title: 'FILE' },
];

/**
 * One row per point, each row complete (image and circle repeated) so that grep and awk see
 * whole records; checksums and snapshot names are in `--json`. Images without points, and
 * unreadable catalogs, follow the table as one line each.
 */
export function formatList(images: Listed[]): string[] {
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const c of images) {
    if ('error' in c) {
      notes.push(`${imageKey(c)}: CATALOG UNREADABLE: ${c.error}`);
      continue;
    }
    const points = c.circles.flatMap((circle) => circle.points.map((p) => ({ circle: circle.name, p })));
    if (!points.length) notes.push(`${imageKey(c)}: no backups`);
    for (const { circle, p } of points) {
      rows.push([imageKey(c), circle, p.backupName, p.type, humanBytes(p.bytes), p.exportedAt.replace(/\.\d+Z$/, 'Z'), p.file.slice(p.file.lastIndexOf('/') + 1)]);
    }
  }
  return [...(rows.length ? formatTable(COLUMNS, rows) : []), ...notes];
}

/**
 * An unmounted backup disk is not "no backups": it is said as such (exit 2), like `run` does,
 * so nobody concludes from an empty listing that the backups are gone.
 */
async function checkReadableDestination(path: string, what: string): Promise<void> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new InputError(`${what} ${path} ${e.code === 'ENOENT' ? 'does not exist: is the backup disk mounted?' : `cannot be read (${e.code ?? String(e)})`}`);
  });
  if (!st.isDirectory()) throw new InputError(`${what} ${path} is not a directory`);
}

/** As restore checks it (activities/access.ts): a typo is exit 2, a planted link exit 1. */
async function checkClusterDir(root: string, cluster: string, destination: string): Promise<void> {
  // Only a missing directory is "does not exist": EACCES and the like are said as they are.
  const st = await lstat(root).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw new InputError(`--from-cluster ${cluster}: ${root} cannot be read (${e.code ?? String(e)})`);
  });
  if (st?.isDirectory()) return;
  if (st?.isSymbolicLink()) throw new UnsafePathError(root, LINK);
  const there = await clustersIn(destination);
  throw new InputError(`--from-cluster ${cluster}: ${root} ${!st ? 'does not exist' : 'is not a directory'} (${there.length ? `clusters there: ${there.join(', ')}` : 'no cluster directory there'})`);
}
