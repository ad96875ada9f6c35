/**
 * The median stopping rule (Golovin et al., Google Vizier): a trial whose validation AUC after epoch
 * k is below the median of the finished trials' validation AUC at epoch k stops there. With no
 * finished trial that reached epoch k, or no AUC this epoch, it continues.
 */
export function medianStopDecision(
  valAuc: number | null | undefined,
  finishedAtEpoch: readonly number[],
): boolean {
  if (valAuc == null || !Number.isFinite(valAuc)) return false;
  const xs = finishedAtEpoch.filter(Number.isFinite).sort((a, b) => a - b);
  if (xs.length === 0) return false;
  const mid = xs.length >> 1;
  const median = xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
  return valAuc < median;
}
