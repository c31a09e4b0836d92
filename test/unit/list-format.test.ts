/** The human form of `list`: an aligned table with human sizes; the rest follows it line by line. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CATALOG_FORMAT, type ImageCatalog, type Point } from '../../src/catalog/schema.js';
import { formatList, type Listed } from '../../cli/list.js';
import { formatTable } from '../../cli/table.js';

const point = (circle: string, name: string, type: 'full' | 'incr', bytes: number, file: string): Point => ({
  backupName: name,
  type,
  snapshot: `rbdbackup-${name}`,
  fromSnapshot: type === 'incr' ? 'rbdbackup-x' : null,
  file: `${circle}/${file}`,
  bytes,
  sha256: 'f'.repeat(64),
  runTime: '2026-11-23T01:00:00.000Z',
  exportedAt: '2026-11-23T01:02:03.456Z',
  workflowId: 'wf',
});

const catalog = (pool: string, image: string, circles: ImageCatalog['circles']): ImageCatalog => ({ format: CATALOG_FORMAT, cluster: 'ceph', pool, image, circles });

test('columns line up: text to the left, sizes to the right, two spaces between, no trailing blanks', () => {
  const cases: { rows: string[][]; want: string[] }[] = [
    { rows: [], want: ['A  SIZE'] },
    { rows: [['x', '1 B'], ['longer', '10.5 GiB']], want: ['A           SIZE', 'x            1 B', 'longer  10.5 GiB'] },
    { rows: [['', '2 B']], want: ['A  SIZE', '    2 B'] },
  ];
  for (const c of cases) assert.deepEqual(formatTable([{ title: 'A' }, { title: 'SIZE', right: true }], c.rows), c.want, JSON.stringify(c.rows));
  // A last left-aligned column gets no padding.
  assert.deepEqual(formatTable([{ title: 'N', right: true }, { title: 'NAME' }], [['1', 'a'], ['22', 'bbbbbb']]), [' N  NAME', ' 1  a', '22  bbbbbb']);
});

test('list prints one complete row per point with human sizes, then images without points', () => {
  const images: Listed[] = [
    catalog('rbd', 'vm-1', [
      {
        name: 'c1',
        points: [point('c1', 'day-01', 'full', 20 * 1024 ** 3, 'c1.full'), point('c1', 'day-02', 'incr', 1536 * 1024, 'day-02_from_c1.diff')],
      },
      { name: 'c2', points: [point('c2', 'day-08', 'full', 512, 'c2.full')] },
    ]),
    catalog('rbd', 'empty', []),
    { pool: 'rbd', image: 'broken', error: 'catalog.json is not JSON' },
  ];
  assert.deepEqual(formatList(images), [
    'IMAGE     CIRCLE  BACKUP  TYPE      SIZE  EXPORTED              FILE',
    'rbd/vm-1  c1      day-01  full  20.0 GiB  2026-11-23T01:02:03Z  c1.full',
    'rbd/vm-1  c1      day-02  incr   1.5 MiB  2026-11-23T01:02:03Z  day-02_from_c1.diff',
    'rbd/vm-1  c2      day-08  full     512 B  2026-11-23T01:02:03Z  c2.full',
    'rbd/empty: no backups',
    'rbd/broken: CATALOG UNREADABLE: catalog.json is not JSON',
  ]);
});

test('no points at all: no table header, only the per-image lines', () => {
  assert.deepEqual(formatList([catalog('rbd', 'never', [])]), ['rbd/never: no backups']);
  assert.deepEqual(formatList([]), []);
});
