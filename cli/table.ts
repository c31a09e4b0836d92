/**
 * Plain aligned columns, as `ls -l` or `zfs list` print them: readable on a terminal and still
 * easy for awk (two spaces between columns, no column ends in trailing blanks).
 */
export interface Column {
  title: string;
  /** Numbers and sizes line up on their last digit. */
  right?: boolean;
}

export function formatTable(columns: Column[], rows: string[][]): string[] {
  const widths = columns.map((c, k) => Math.max(c.title.length, ...rows.map((r) => (r[k] ?? '').length)));
  const line = (cells: string[]): string =>
    columns
      .map((c, k) => {
        const v = cells[k] ?? '';
        return c.right ? v.padStart(widths[k]!) : v.padEnd(widths[k]!);
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.title)), ...rows.map(line)];
}
