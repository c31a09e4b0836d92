import { Catalog, type ImageCatalog } from '../catalog/catalog.js';
import { parseImageSpec, imageKey, type ImageRef } from '../names/names.js';
import { EXIT_FAILED, EXIT_OK, configFrom, humanBytes, printJson } from './common.js';

type Listed = ImageCatalog | (ImageRef & { error: string });

export async function listCommand(image: string | undefined, o: { config?: string; json?: boolean }): Promise<number> {
  const cfg = configFrom(o);
  const catalog = new Catalog(cfg.backup.destination, cfg.cluster.name);
  const refs = image ? [parseImageSpec(image)] : await catalog.images();
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
  if (o.json) printJson({ cluster: cfg.cluster.name, destination: catalog.root, images });
  else {
    const out: string[] = [];
    for (const c of images) {
      if ('error' in c) {
        out.push(`${imageKey(c)}: CATALOG UNREADABLE: ${c.error}`);
        continue;
      }
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
  }
  for (const b of broken) process.stderr.write(`rbd-backup: ${b.error}\n`);
  return broken.length ? EXIT_FAILED : EXIT_OK;
}
