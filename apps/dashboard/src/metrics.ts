/** Number formatting for the dashboard; the metrics themselves come from @fundus/metrics. */

/** A rate as text with 4 decimals ("—" when undefined). */
export function fmt(x: number | null | undefined, digits = 4): string {
  return x === null || x === undefined || Number.isNaN(x) ? '—' : x.toFixed(digits);
}
