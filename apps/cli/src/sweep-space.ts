import { CliError } from './errors';

/** One dimension of a sweep's space: a list of values (grid or random) or a range (random only). */
export type Dimension = number[] | { min: number; max: number; log?: boolean };

function number(text: string, flag: string): number {
  const n = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(n))
    throw new CliError('usage', `--${flag}: "${text}" is not a number (e.g. --${flag} 0.25,0.5,1,2)`);
  return n;
}

/**
 * Parses a dimension flag: `0.25,0.5,1,2` (a list), `0.1:2` (a uniform range) or `1e-4:1e-2:log`
 * (a log-uniform range). Ranges are for random search (`--trials N`) only.
 */
export function parseDimension(text: string, flag: string): Dimension {
  if (text.includes(':')) {
    const parts = text.split(':');
    const log = parts.length === 3 && parts[2] === 'log';
    if (parts.length !== 2 && !log)
      throw new CliError('usage', `--${flag}: a range is MIN:MAX or MIN:MAX:log, got "${text}"`);
    const min = number(parts[0], flag);
    const max = number(parts[1], flag);
    if (min > max) throw new CliError('usage', `--${flag}: range minimum ${min} is above maximum ${max}`);
    if (log && min <= 0) throw new CliError('usage', `--${flag}: a log range needs a minimum > 0`);
    return log ? { min, max, log: true } : { min, max };
  }
  const values = text.split(',').map((s) => number(s, flag));
  return values;
}

/** Number of grid trials of a space whose dimensions are all lists (missing dimensions count 1). */
export function gridSize(space: Record<string, unknown>): number {
  let n = 1;
  for (const d of Object.values(space)) if (Array.isArray(d)) n *= d.length;
  return n;
}
