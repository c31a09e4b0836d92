/**
 * The one-line texts the Temporal Web UI and CLI show for our workflows, activities and heartbeats
 * (user metadata and heartbeat details), so a run's timeline reads without opening a payload.
 * Pure and shared: the client sets a run's summary at start, the workflows their children's and
 * activities', the export activity its heartbeat text. Summaries are user metadata, not commands:
 * changing a text needs no patch (the replay test shows it).
 */
import type { BackupType, ImagePlan, ImageResult } from './backup.js';
import { imageKey, type ImageRef } from '../names/names.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 21474836480 → "20 GiB", 1288490188 → "1.2 GiB": whole numbers drop their ".0". */
export function bytesText(n: number): string {
  let v = n;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  const s = i === 0 ? String(Math.round(v)) : v.toFixed(1).replace(/\.0$/, '');
  return `${s} ${UNITS[i]}`;
}

/** A list of images that stays one readable line however long the run is. */
export function imagesText(images: readonly ImageRef[] | undefined, shown = 3): string {
  if (!images) return 'all images of the list';
  if (images.length === 0) return 'no images';
  const names = images.slice(0, shown).map(imageKey).join(', ');
  return images.length > shown ? `${names} and ${images.length - shown} more` : names;
}

const count = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** A run's static summary, set when it starts: its plan is not made yet. */
export function runSummary(backupName: string, images: readonly ImageRef[] | undefined): string {
  return `backup run ${backupName}: ${imagesText(images)}`;
}

/** A scheduled run's summary: its name comes from its nominal time, which the action cannot know. */
export function scheduledRunSummary(schedule: string, images: readonly ImageRef[] | undefined): string {
  return `backup run of schedule ${schedule}: ${imagesText(images)}`;
}

/**
 * The run's current details once it has planned, the counts the start summary could not know:
 * "backup run X: 3 images, 2 full 1 incr, 21.3 GiB; backing up: 1 ok, 2 to go".
 */
export function runDetails(backupName: string, plans: readonly Pick<ImagePlan, 'type' | 'sizeBytes' | 'estimatedBytes'>[], settled: readonly Pick<ImageResult, 'status'>[], phase: string): string {
  const full = plans.filter((p) => p.type === 'full').length;
  const bytes = plans.reduce((s, p) => s + (p.type === 'full' ? p.sizeBytes : p.estimatedBytes), 0);
  const by = new Map<string, number>();
  for (const r of settled) by.set(r.status, (by.get(r.status) ?? 0) + 1);
  const tally = [...by].map(([s, n]) => `${n} ${s}`);
  if (plans.length > settled.length) tally.push(`${plans.length - settled.length} to go`);
  return `backup run ${backupName}: ${count(plans.length, 'image')}, ${full} full ${plans.length - full} incr, ${bytesText(bytes)}; ${phase}${tally.length ? `: ${tally.join(', ')}` : ''}`;
}

/** What an image's export writes: a full's file is the image's size, a diff about its estimate. */
function exportSize(p: Pick<ImagePlan, 'type' | 'sizeBytes' | 'estimatedBytes'>): string {
  return p.type === 'full' ? bytesText(p.sizeBytes) : `~${bytesText(p.estimatedBytes)}`;
}

/** An imageBackup child: "full rbd/vm-1 20 GiB, run 20261129T010000Z". */
export function imageBackupSummary(p: ImagePlan): string {
  return `${p.type} ${imageKey(p)} ${exportSize(p)}, run ${p.backupName}`;
}

/** The steps of one image's backup, as the timeline lists them. */
export const backupStepSummary = {
  snapshot: (p: ImagePlan) => `snapshot ${imageKey(p)}@${p.snapshot}`,
  export: (p: ImagePlan) => `export ${imageKey(p)} ${p.type} ${exportSize(p)}${p.type === 'incr' ? ` since ${p.fromSnapshot}` : ''}`,
  deleteSnapshots: (p: ImagePlan, failed: boolean) => `delete snapshots ${imageKey(p)} (keep ${p.snapshotRetainCount}${failed ? `, drop failed ${p.snapshot}` : ''})`,
  pruneCircles: (p: ImagePlan) => `prune circles ${imageKey(p)} (keep ${p.circleRetainCount})`,
};

/** A batch child of a run of more than BATCH_SIZE images. */
export function batchSummary(what: string, index: number, images: readonly ImageRef[]): string {
  return `${what} batch ${index}: ${count(images.length, 'image')}, ${imagesText(images, 2)}`;
}

/** A restore's source: `<fromCluster>:` first when it reads another cluster's backups (disaster recovery). */
export function restoreSourceText(source: ImageRef, fromCluster?: string): string {
  return `${fromCluster !== undefined ? `${fromCluster}:` : ''}${imageKey(source)}`;
}

export function restoreSummary(source: ImageRef, at: string, target: ImageRef | undefined, fromCluster?: string): string {
  return `restore ${restoreSourceText(source, fromCluster)} at ${at} to ${target ? imageKey(target) : 'a new image'}`;
}

/** `run --dry-run` and `show images`: the read-only planBackup workflow. */
export function planSummary(images: readonly ImageRef[] | undefined, asOf?: string): string {
  return `dry run of a backup run${asOf !== undefined ? ` as of ${asOf}` : ''}: ${imagesText(images)}`;
}

/** The steps of a dry run: the backup run's first two, read-only. */
export const planStepSummary = {
  resolve: (images: readonly ImageRef[] | undefined) => `dry run: resolve policy and images (${imagesText(images)})`,
  plan: (images: readonly ImageRef[]) => `dry run: plan ${imagesText(images)}`,
};

/** `show cluster`: the read-only describeCluster workflow, and its one step. */
export function clusterSummary(cluster: string, destination: string | undefined): string {
  return `show cluster ${cluster} (destination ${destination ?? 'default'})`;
}

export function clusterStepSummary(cluster: string, destination: string | undefined): string {
  return `read cluster ${cluster} (fsid, monitors, pools) and its cluster.json in destination ${destination ?? 'default'}`;
}

/** One link of a restore chain: "import full 20261122T010000Z/….full (20 GiB) into rbd/vm-1". */
export function restoreStepSummary(link: { type: BackupType; file: string; bytes: number }, target: ImageRef): string {
  return `${link.type === 'full' ? 'import full' : 'apply diff'} ${link.file} (${bytesText(link.bytes)}) into ${imageKey(target)}`;
}

export function verifySummary(images: readonly ImageRef[] | undefined, deep: boolean): string {
  return `${deep ? 'deep verify' : 'verify'} ${images ? imagesText(images) : 'every cataloged image'}`;
}

export function deleteSummary(image: ImageRef, circle: string | undefined, point: string | undefined): string {
  return `delete ${point ? `point ${point}` : circle ? `circle ${circle}` : 'the newest point'} of ${imageKey(image)}`;
}

export function rebuildSummary(image: ImageRef | undefined): string {
  return image ? `rebuild catalog of ${imageKey(image)}` : 'rebuild every unreadable catalog';
}
