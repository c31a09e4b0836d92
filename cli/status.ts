import type { WorkflowHandle } from '@temporalio/client';
import { findRun, runStatus, type RunStatus } from '../src/client/progress.js';
import { EXIT_OK, configFrom, humanBytes, workflowClient } from './common.js';

export interface StatusOptions {
  config?: string;
  watch?: boolean;
  json?: boolean;
}

const REFRESH_MS = 2000;

export function formatEta(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}

const percent = (done: number, expected: number): string => (expected > 0 ? ` ${Math.min(100, Math.floor((done * 100) / expected))}%` : '');

export function formatStatus(s: RunStatus): string[] {
  const p = s.progress;
  const state = s.status === 'RUNNING' ? `running (${p.phase})` : s.status.toLowerCase();
  const out = [`backup ${p.backupName} of cluster ${p.cluster} as of ${p.runTime}: ${state}`];
  const width = Math.max(0, ...s.images.map((i) => `${i.pool}/${i.image}`.length));
  for (const i of s.images) {
    const name = `${i.pool}/${i.image}`.padEnd(width);
    const phase = i.phase + (i.exportStep && i.exportStep !== 'export' ? ` (${i.exportStep})` : '');
    const bytes = i.bytesExpected !== undefined ? `${humanBytes(i.bytesDone ?? 0)} / ${humanBytes(i.bytesExpected)}${percent(i.bytesDone ?? 0, i.bytesExpected)}` : '';
    out.push(`  ${name}  ${phase.padEnd(18)} ${bytes}${i.reason ? `  ${i.reason}` : ''}`.trimEnd());
  }
  const t = s.totals;
  const phases = Object.entries(t.byPhase).map(([k, n]) => `${n} ${k}`).join(', ');
  let total = `total: ${t.images} image(s)${phases ? ` (${phases})` : ''}; ${humanBytes(t.bytesDone)} / ${humanBytes(t.bytesExpected)}${percent(t.bytesDone, t.bytesExpected)}`;
  if (t.rate !== undefined) total += `; ${humanBytes(Math.round(t.rate))}/s`;
  if (t.etaSeconds !== undefined) total += `; ETA ${formatEta(t.etaSeconds)}`;
  out.push(total);
  if (p.reportFile) out.push(`report: ${p.reportFile}`);
  return out;
}

export async function statusCommand(run: string | undefined, o: StatusOptions): Promise<number> {
  const cfg = configFrom(o);
  const { client, close } = await workflowClient(cfg);
  try {
    const handle = await findRun(client, cfg.cluster.name, run);
    if (!o.watch) {
      print(await runStatus(handle), o.json === true);
      return EXIT_OK;
    }
    await watch(handle, o.json === true);
    return EXIT_OK;
  } finally {
    await close();
  }
}

function print(s: RunStatus, json: boolean): void {
  process.stdout.write(json ? JSON.stringify(s, null, 2) + '\n' : formatStatus(s).join('\n') + '\n');
}

async function watch(handle: WorkflowHandle, json: boolean): Promise<void> {
  // On a terminal the block is redrawn in place; a pipe or a file gets each refresh appended.
  const redraw = process.stdout.isTTY && !json;
  let drawn = 0;
  let previous: { at: number; bytes: number } | undefined;
  for (;;) {
    const at = Date.now();
    let s = await runStatus(handle);
    // Two samples measure the whole run's rate, where one sample only knows each export's average.
    if (previous && at > previous.at && s.totals.bytesDone >= previous.bytes && s.status === 'RUNNING') {
      const measured = ((s.totals.bytesDone - previous.bytes) * 1000) / (at - previous.at);
      if (measured > 0) s = { ...s, totals: { ...s.totals, rate: measured, etaSeconds: Math.max(0, Math.ceil((s.totals.bytesExpected - s.totals.bytesDone) / measured)) } };
    }
    previous = { at, bytes: s.totals.bytesDone };
    if (json) process.stdout.write(JSON.stringify(s) + '\n');
    else {
      const lines = formatStatus(s);
      if (redraw && drawn) process.stdout.write(`\x1b[${drawn}F\x1b[J`);
      process.stdout.write(lines.join('\n') + '\n');
      drawn = lines.length;
    }
    if (s.status !== 'RUNNING') return;
    await new Promise((r) => setTimeout(r, REFRESH_MS));
  }
}
