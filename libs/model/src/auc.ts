/**
 * ROC AUC by the Mann–Whitney statistic (equal to the trapezoid area under the ROC curve, ties
 * counted as ½). Kept local because libs/model may not import libs/metrics.
 * @param scores P(disease) per sample, any real numbers
 * @param labels 1 = disease, 0 = normal, same length
 * @returns AUC in [0, 1], or NaN when one class is absent
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let pos = 0;
  let rankSumPos = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && scores[idx[j + 1]] === scores[idx[i]]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[idx[k]] === 1) {
        pos++;
        rankSumPos += avgRank;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}
