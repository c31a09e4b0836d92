/** The bench's result rows and how they print. */
export interface Row {
  row: string;
  /** rbd-backup's median wall time, seconds. */
  ours?: number;
  /** The comparison's median wall time, seconds. */
  raw?: number;
  rawLabel?: string;
  measure: string;
  goal: string;
  /** undefined: not measured here. */
  pass: boolean | undefined;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export function printTable(rows: Row[], rounds: number): void {
  const head = ['row', 'rbd-backup s', 'compared with', 's', 'ratio', 'goal', ''];
  const cells = rows.map((r) => [
    r.row,
    r.ours?.toFixed(2) ?? '',
    r.rawLabel ?? '',
    r.raw?.toFixed(2) ?? '',
    r.measure,
    r.goal,
    r.pass === undefined ? 'n/a' : r.pass ? 'pass' : 'MISS',
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  for (const c of [head, ...cells]) console.log(c.map((x, i) => (i === 1 || i === 3 ? x.padStart(w[i]!) : x.padEnd(w[i]!))).join('  ').trimEnd());
  console.log(`medians of ${rounds} round(s), sides alternating; wall times of the CLI as a user runs it (worker, dev server and cluster already up)`);
}
