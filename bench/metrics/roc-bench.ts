/**
 * ROC + AUC on 10^6 scores against a plain Float64Array sort of the same scores (the anchor), same run.
 *   npx tsx bench/metrics/roc-bench.ts [n] [repeats]
 * Prints a Markdown table; bench/metrics/RESULTS.md records a run with its machine and date.
 */
import { execSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import { cumulativeCounts, mulberry32, rocAuc, rocCurve, rocFromCounts } from '../../libs/metrics/src';

const n = Number(process.argv[2] ?? 1_000_000);
const repeats = Number(process.argv[3] ?? 7);

function data(ties: boolean): { labels: Uint8Array; scores: Float64Array } {
  const r = mulberry32(12345);
  const labels = new Uint8Array(n);
  const scores = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const y = r() < 0.4 ? 1 : 0;
    const g = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    const p = 1 / (1 + Math.exp(-(g + 1.7 * y - 0.85)));
    labels[i] = y;
    scores[i] = ties ? Math.round(p * 1000) / 1000 : p;
  }
  return { labels, scores };
}

/**
 * Median wall time in ms of each function, measured interleaved (anchor, then the others, per round) so that
 * load from other processes on a shared machine hits all of them alike; 2 warm-up rounds first.
 */
function timeInterleaved(fs: (() => unknown)[]): number[] {
  const ts: number[][] = fs.map(() => []);
  for (let round = 0; round < repeats + 2; round++) {
    fs.forEach((f, i) => {
      const t0 = process.hrtime.bigint();
      f();
      if (round >= 2) ts[i].push(Number(process.hrtime.bigint() - t0) / 1e6);
    });
  }
  return ts.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]);
}

const cpu = (() => {
  try {
    const m = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    return m ? m[1] : (os.cpus()[0]?.model ?? 'unknown');
  } catch {
    return os.cpus()[0]?.model ?? 'unknown';
  }
})();
const nproc = (() => {
  try {
    return execSync('nproc').toString().trim();
  } catch {
    return String(os.cpus().length);
  }
})();

console.log(`date: ${new Date().toISOString()}  node ${process.version}  nproc ${nproc}  cpu: ${cpu}`);
console.log(
  `n = ${n}, median of ${repeats} interleaved rounds after 2 warm-up rounds; load: ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}\n`,
);
console.log(
  '| scores | anchor: Float64Array sort (ms) | rocCurve incl. AUC (ms) | ratio | rocAuc only (ms) | ratio | ROC points (dropped / full) |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const ties of [false, true]) {
  const { labels, scores } = data(ties);
  let roc = rocCurve(labels, scores);
  const [anchor, tRoc, tAuc] = timeInterleaved([
    () => Float64Array.from(scores).sort(),
    () => (roc = rocCurve(labels, scores)),
    () => rocAuc(labels, scores),
  ]);
  const full = rocFromCounts(cumulativeCounts(labels, scores), { dropIntermediate: false });
  if (Math.abs(roc.auc - rocAuc(labels, scores)) > 1e-12) throw new Error('AUC mismatch');
  console.log(
    `| ${ties ? 'probabilities rounded to 3 dp (ties)' : 'distinct probabilities'} | ${anchor.toFixed(1)} | ${tRoc.toFixed(1)} | ${(tRoc / anchor).toFixed(2)} | ${tAuc.toFixed(1)} | ${(tAuc / anchor).toFixed(2)} | ${roc.fpr.length} / ${full.fpr.length} |`,
  );
}
