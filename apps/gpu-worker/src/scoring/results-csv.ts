import type { Prediction } from '@fundus/db';

/** Columns of a scoring job's results CSV, in order. */
export const RESULTS_COLUMNS = [
  'key',
  'etag',
  'model_version_id',
  'probability',
  'label',
  'threshold',
  'ungradable',
  'reason',
  'error',
  'scored_at',
] as const;

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF, and also when it starts
 * with `=`, `+`, `-` or `@` so spreadsheets do not run an object key as a formula.
 */
export function csvField(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]|^[=+\-@]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV line (with its trailing `\n`) for a prediction; label `disease`/`normal` is not spelled out, 1/0 is. */
export function csvLine(p: Prediction): string {
  return (
    [
      p.key,
      p.etag,
      p.modelVersionId,
      p.probability,
      p.label,
      p.threshold,
      p.ungradable,
      p.reason,
      p.error,
      new Date(p.createdAt).toISOString(),
    ]
      .map(csvField)
      .join(',') + '\n'
  );
}

/** The header line. */
export function csvHeader(): string {
  return RESULTS_COLUMNS.join(',') + '\n';
}
