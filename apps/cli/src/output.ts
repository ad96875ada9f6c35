/** Where a command writes: stdout for results, stderr for messages. */
export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream;
}

/** A column of a table: header and how to render a row's cell. */
export type Column<T> = [header: string, cell: (row: T) => unknown];

/** Formats a cell: numbers to 3 decimals (integers as they are), dates as `YYYY-MM-DD HH:MM`, null as `-`. */
export function cell(v: unknown): string {
  if (v === null || v === undefined || v === '') return '-';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(3);
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (v instanceof Date) return v.toISOString().slice(0, 16).replace('T', ' ');
  if (typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(v)) return v.slice(0, 16).replace('T', ' ');
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** A plain-text table with left-aligned, space-padded columns; "(none)" when there are no rows. */
export function table<T>(rows: T[], columns: Column<T>[]): string {
  if (rows.length === 0) return '(none)\n';
  const grid = [columns.map((c) => c[0]), ...rows.map((r) => columns.map((c) => cell(c[1](r))))];
  const widths = columns.map((_, i) => Math.max(...grid.map((line) => line[i].length)));
  return (
    grid
      .map((line) =>
        line
          .map((s, i) => s.padEnd(widths[i]))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** `key: value` lines, keys padded to the same width. */
export function fields(pairs: Array<[string, unknown]>): string {
  const w = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(w + 1)} ${cell(v)}`).join('\n') + '\n';
}

/** A text progress bar of `width` cells for a fraction in [0, 1]. */
export function bar(fraction: number, width = 24): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${String(Math.round(f * 100)).padStart(3)}%`;
}

/** Writes a value as pretty JSON (the `--json` output of every command). */
export function writeJson(io: Io, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
