/**
 * What `run` shows while it waits. On a terminal: a totals bar and one bar per image in flight,
 * drawn by cli-progress (loaded here only, so `--help`, `--json` and pipes never load it), with
 * each phase change logged above the bars. Anywhere else: the plain phase lines alone. Both read
 * the run's progress every second through queries and describe(), which add no event to any
 * history.
 */
import { clearScreenDown } from 'node:readline';
import type { WorkflowHandle } from '@temporalio/client';
import type { MultiBar, Options, Params, SingleBar } from 'cli-progress';
import { runStatus, type ImageStatus, type RunStatus } from '../src/client/progress.js';
import { humanBytes, waitBounded } from './common.js';
import { FINISHED, imageLabel, progressLines, type LineState } from './progress-lines.js';
import { formatEta } from './status.js';

const POLL_MS = 1000;
/** The last look after the run closed is a query a worker must replay: never wait long on it. */
const LAST_LOOK_MS = 5000;

interface View {
  show(s: RunStatus, lines: string[]): void;
  close(): void;
}

/**
 * Shows the run behind `handle` until `until` settles, then returns (or throws) what it settled
 * with. A poll that fails (a run still starting, one too old for the query) shows nothing that time.
 */
export async function showProgress<T>(handle: WorkflowHandle, until: Promise<T>, out: NodeJS.WriteStream = process.stdout): Promise<T> {
  let settled = false;
  // Handled before anything is awaited: a result that fails while the library loads is no crash.
  const over = until.then(
    () => void (settled = true),
    () => void (settled = true),
  );
  const view = out.isTTY ? await barsView(out) : plainView(out);
  let state: LineState | undefined;
  const look = async (): Promise<void> => {
    try {
      const s = await runStatus(handle);
      const next = progressLines(state, s, Date.now());
      state = next.state;
      view.show(s, next.lines);
    } catch {
      // Nothing to show this time; the result still comes.
    }
  };
  try {
    while (!settled) {
      // A poll held up (a worker gone) must not hold up the result, nor the --timeout.
      const t0 = Date.now();
      await Promise.race([look(), over]);
      // A look at a run of a thousand images queries each child in flight, which a worker may
      // have to replay: the busier the run, the rarer the looks, so watching never starves it.
      await pause(Math.max(POLL_MS, 3 * (Date.now() - t0)), over);
    }
    const value = await until;
    // The phases of the last second (each image's `done … in …`) come from the closed run itself.
    if (value !== undefined) await waitBounded(look(), LAST_LOOK_MS);
    return value;
  } finally {
    view.close();
  }
}

/** Resolves after `ms`, its timer cleared when `stop` settles first so nothing keeps the process. */
function pause(ms: number, stop: Promise<unknown>): Promise<void> {
  return new Promise((res) => {
    const t = setTimeout(res, ms);
    void stop.then(() => {
      clearTimeout(t);
      res();
    });
  });
}

function plainView(out: NodeJS.WriteStream): View {
  return {
    show: (_s, lines) => {
      if (lines.length) out.write(lines.join('\n') + '\n');
    },
    close: () => undefined,
  };
}

const IN_FLIGHT = (i: ImageStatus): boolean => i.phase !== 'planned' && !FINISHED.has(i.phase);

interface Row {
  label: string;
  phase: string;
  detail: string;
}

const rateAndEta = (rate: number | undefined, eta: number | undefined): string =>
  `${rate ? `  ${humanBytes(Math.round(rate))}/s` : ''}${eta !== undefined ? `  ETA ${formatEta(eta)}` : ''}`;

async function barsView(out: NodeJS.WriteStream): Promise<View> {
  const { MultiBar, Format } = (await import('cli-progress')).default;
  let width = 'total'.length;
  const format = (options: Options, params: Params, row: Row): string =>
    `${row.label.padEnd(width)}  ${row.phase.padEnd(18)} [${Format.BarFormat(params.progress, options)}] ${String(Math.floor(params.progress * 100)).padStart(3)}%  ${row.detail}`;
  // Every frame redrawn whole: a line logged above the bars moves them all down a row.
  const multi: MultiBar = new MultiBar({ stream: out, format, barsize: 24, hideCursor: true, clearOnComplete: false, emptyOnZero: true, fps: 4, forceRedraw: true });
  let logged = 0;
  // The library writes logged lines over the old bars without clearing them: clear first.
  multi.on('redraw-pre', () => {
    if (logged) clearScreenDown(out);
    logged = 0;
  });
  // Bars are drawn in the order they were made: the totals first, then the images as they start.
  const totals = multi.create(1, 0, { label: 'total', phase: 'starting', detail: '' } satisfies Row);
  const bars = new Map<string, SingleBar>();
  // A Ctrl-C while drawing must not leave the cursor hidden and wrapping off: restore, then die of it.
  const onSignal = (signal: NodeJS.Signals): void => {
    multi.stop();
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let closed = false;
  return {
    show: (s, lines) => {
      if (closed) return;
      for (const l of lines) multi.log(l + '\n');
      logged += lines.length;
      width = Math.max(width, ...s.images.map((i) => imageLabel(i).length));
      for (const i of s.images) {
        const key = imageLabel(i);
        const bar = bars.get(key);
        if (!IN_FLIGHT(i)) {
          if (bar) {
            multi.remove(bar);
            bars.delete(key);
          }
          continue;
        }
        const done = i.bytesDone ?? 0;
        const total = Math.max(1, i.bytesExpected ?? 0, done);
        const phase = i.phase + (i.exportStep && i.exportStep !== 'export' ? ` (${i.exportStep})` : '');
        const eta = i.rate && i.bytesExpected !== undefined ? Math.max(0, Math.ceil((i.bytesExpected - done) / i.rate)) : undefined;
        const row: Row = { label: key, phase, detail: `${humanBytes(done)} / ${humanBytes(i.bytesExpected ?? 0)}${i.phase === 'exporting' ? rateAndEta(i.rate, eta) : ''}` };
        if (bar) {
          bar.setTotal(total);
          bar.update(done, row);
        } else bars.set(key, multi.create(total, done, row));
      }
      const t = s.totals;
      const finished = s.images.filter((i) => FINISHED.has(i.phase)).length;
      totals.setTotal(Math.max(1, t.bytesExpected, t.bytesDone));
      totals.update(t.bytesDone, {
        phase: s.status === 'RUNNING' ? s.progress.phase : s.status.toLowerCase(),
        detail: `${humanBytes(t.bytesDone)} / ${humanBytes(t.bytesExpected)}  ${finished}/${t.images} image(s) finished${s.status === 'RUNNING' ? rateAndEta(t.rate, t.etaSeconds) : ''}`,
      } satisfies Partial<Row>);
    },
    close: () => {
      if (closed) return;
      closed = true;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // The last lines logged and the last frame drawn, then the cursor and wrapping given back.
      multi.update();
      multi.stop();
    },
  };
}
