import { Catalog } from '../catalog/catalog.js';
import { parseImageSpec } from '../names/names.js';
import { EXIT_OK, configFrom, humanBytes, printJson } from './common.js';

export async function listCommand(image: string | undefined, o: { config?: string; json?: boolean }): Promise<number> {
  const cfg = configFrom(o);
  const catalog = new Catalog(cfg.backup.destination, cfg.cluster.name);
  const refs = image ? [parseImageSpec(image)] : await catalog.images();
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
