/**
 * What a backup run would do, without doing it: the same decisions as workflows/backup-run.ts
 * (decideType, estimateBytes, checkSpace, largestFirst) applied to the plan step's facts. Pure,
 * so the dry run and the run cannot disagree on anything but the facts they read.
 */
import type { BackupPolicy, ImageSelection, PlanResult, ResolvedRun } from '../contract/backup.js';
import type { BackupPlan, ImagePreview } from '../contract/plan.js';
import { imageKey } from '../names/names.js';
import { checkSpace, decideType, estimateBytes, largestFirst, type TypeRule } from './decision.js';

export interface PreviewInput {
  cluster: string;
  backupName: string;
  runTime: string;
  snapshot: string;
  policy: BackupPolicy;
  rule: TypeRule;
  images: ImageSelection[];
  /** Names the image source could not map (Cinder: missing, ambiguous, not RBD): the run reports them skipped. */
  unresolved?: ResolvedRun['skipped'];
  /** Absent: the day is in neither list and nothing is forced, so the run would not plan. */
  plan?: Pick<PlanResult, 'facts' | 'skipped' | 'freeBytes' | 'clusterDir'>;
}

export function previewRun(i: PreviewInput): BackupPlan {
  const head = {
    cluster: i.cluster,
    destination: i.policy.destination,
    backupName: i.backupName,
    runTime: i.runTime,
    weekday: i.rule.weekday,
    timezone: i.policy.timezone,
    snapshot: i.snapshot,
  };
  // As the run reports them: first, before anything planned, and never dropped.
  const unresolved: ImagePreview[] = (i.unresolved ?? []).map((m) => ({ pool: m.pool, image: m.image, action: 'skip', reason: m.reason }));
  if (!i.plan) {
    const reason = `nothing scheduled on weekday ${i.rule.weekday}`;
    return { ...head, images: [...unresolved, ...i.images.map((s): ImagePreview => ({ pool: s.pool, image: s.image, action: 'not-scheduled', reason }))], outcome: 'nothing-scheduled' };
  }
  const rest: ImagePreview[] = [...unresolved, ...i.plan.skipped.map((m): ImagePreview => ({ pool: m.pool, image: m.image, action: 'skip', reason: m.reason }))];
  const exports: (ImagePreview & { estimatedBytes: number })[] = [];
  const selections = new Map(i.images.map((s) => [imageKey(s), s]));
  for (const facts of i.plan.facts) {
    const sel: ImageSelection = selections.get(imageKey(facts)) ?? { pool: facts.pool, image: facts.image };
    const d = decideType(i.rule, sel, facts, i.snapshot);
    if (d.type === 'none') {
      rest.push({ pool: facts.pool, image: facts.image, action: d.refused ? 'skip' : 'not-scheduled', reason: d.reason });
      continue;
    }
    exports.push({
      pool: facts.pool,
      image: facts.image,
      action: d.type,
      reason: d.reason,
      ...(d.type === 'incr' ? { fromSnapshot: d.fromSnapshot!, circle: d.circle! } : { circle: i.snapshot }),
      estimatedBytes: estimateBytes(d.type, facts),
      sizeBytes: facts.sizeBytes,
    });
  }
  const neededBytes = exports.reduce((s, p) => s + p.estimatedBytes, 0);
  const problem = checkSpace(neededBytes, i.plan.freeBytes, i.policy.spaceMargin);
  const space = { neededBytes, freeBytes: i.plan.freeBytes, margin: i.policy.spaceMargin, ...(problem ? { problem } : {}) };
  const images = [...largestFirst(exports), ...rest];
  if (problem) return { ...head, images, space, outcome: 'refused', refusal: `${i.plan.clusterDir}: ${problem}` };
  const nothing = exports.length === 0 && rest.every((r) => r.action === 'not-scheduled');
  return { ...head, images, space, outcome: nothing ? 'nothing-scheduled' : 'would-run' };
}
