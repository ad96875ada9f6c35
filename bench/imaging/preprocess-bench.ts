/**
 * Benchmark: images/s from a 2048×1536 JPEG to a normalised 224×224 float32 tensor (`preprocess`),
 * against sharp's plain decode + resize of the same file to 224×224 raw RGB, in the same run.
 * Rounds alternate between the two so that machine noise hits both alike; the median round counts.
 *
 * Run: npx tsx bench/imaging/preprocess-bench.ts [rounds=7] [imagesPerRound=40]
 */
import * as os from 'node:os';
import sharp from 'sharp';
import { generateFundus, preprocess } from '@fundus/imaging';

const SIZE = 224;

async function timeIt(n: number, f: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await f();
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 7);
  const n = Number(process.argv[3] ?? 40);
  const jpeg = await generateFundus({
    seed: 2048,
    size: 2048,
    height: 1536,
    disease: true,
    severity: 'moderate',
    jpegQuality: 92,
  });
  const baseline = () => sharp(jpeg).resize(SIZE, SIZE).raw().toBuffer();
  const ours = () => preprocess(jpeg, { size: SIZE });
  const check = await ours();
  if (check.data.length !== SIZE * SIZE * 3 || !check.quality.gradable)
    throw new Error('unexpected preprocess output');
  await timeIt(10, baseline);
  await timeIt(10, ours);
  const b: number[] = [];
  const o: number[] = [];
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      b.push(await timeIt(n, baseline));
      o.push(await timeIt(n, ours));
    } else {
      o.push(await timeIt(n, ours));
      b.push(await timeIt(n, baseline));
    }
  }
  const mb = median(b);
  const mo = median(o);
  const ratios = b.map((x, i) => o[i] / x);
  console.log(
    JSON.stringify(
      {
        date: new Date().toISOString(),
        cpu: os.cpus()[0]?.model,
        cores: os.cpus().length,
        loadavg: os.loadavg().map((x) => +x.toFixed(2)),
        node: process.version,
        sharp: sharp.versions.sharp,
        vips: sharp.versions.vips,
        sharpConcurrency: sharp.concurrency(),
        jpegBytes: jpeg.length,
        rounds,
        imagesPerRound: n,
        baselineImgPerS: +mb.toFixed(1),
        preprocessImgPerS: +mo.toFixed(1),
        ratioOfMedians: +(mo / mb).toFixed(3),
        medianRoundRatio: +median(ratios).toFixed(3),
        baselineRounds: b.map((x) => +x.toFixed(1)),
        preprocessRounds: o.map((x) => +x.toFixed(1)),
      },
      null,
      2,
    ),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
