/**
 * Benchmark: images/s from a 2048×1536 JPEG to a normalised 224×224 float32 tensor (`preprocess`),
 * against sharp's plain decode + resize of the same file to 224×224 raw RGB, in the same run.
 * Rounds alternate between the two so that machine noise hits both alike; the median round counts.
 * Reported three ways: one image at a time, four in flight (how a scoring worker runs), and CPU time
 * per image (all threads), which other load on the machine disturbs least.
 *
 * Run: npx tsx bench/imaging/preprocess-bench.ts [rounds=7] [imagesPerRound=40]
 */
import * as os from 'node:os';
import sharp from 'sharp';
import { generateFundus, preprocess } from '@fundus/imaging';

const SIZE = 224;

/** Images per second over `n` calls, `inFlight` at a time (1 = strictly sequential). */
async function timeIt(n: number, f: () => Promise<unknown>, inFlight = 1): Promise<number> {
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next++ < n) await f();
    }),
  );
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

interface Series {
  baseline: number[];
  preprocess: number[];
}

/** Alternating rounds (order flipped every round) of baseline and preprocess at one concurrency. */
async function series(
  rounds: number,
  n: number,
  inFlight: number,
  baseline: () => Promise<unknown>,
  ours: () => Promise<unknown>,
): Promise<Series> {
  const s: Series = { baseline: [], preprocess: [] };
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      s.baseline.push(await timeIt(n, baseline, inFlight));
      s.preprocess.push(await timeIt(n, ours, inFlight));
    } else {
      s.preprocess.push(await timeIt(n, ours, inFlight));
      s.baseline.push(await timeIt(n, baseline, inFlight));
    }
  }
  return s;
}

function summary(s: Series) {
  const mb = median(s.baseline);
  const mo = median(s.preprocess);
  return {
    baselineImgPerS: +mb.toFixed(1),
    preprocessImgPerS: +mo.toFixed(1),
    ratioOfMedians: +(mo / mb).toFixed(3),
    medianRoundRatio: +median(s.baseline.map((x, i) => s.preprocess[i] / x)).toFixed(3),
    baselineRounds: s.baseline.map((x) => +x.toFixed(1)),
    preprocessRounds: s.preprocess.map((x) => +x.toFixed(1)),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Runs all three measurements on one JPEG. */
async function measure(jpeg: Buffer, rounds: number, n: number) {
  const baseline = () => sharp(jpeg).resize(SIZE, SIZE).raw().toBuffer();
  const ours = () => preprocess(jpeg, { size: SIZE });
  const check = await ours();
  if (check.data.length !== SIZE * SIZE * 3 || !check.quality.gradable)
    throw new Error('unexpected preprocess output');
  await timeIt(10, baseline);
  await timeIt(10, ours);
  const sequential = await series(rounds, n, 1, baseline, ours);
  const pipelined = await series(rounds, n, 4, baseline, ours);
  // CPU time per image (all threads of this process), a second view that is less sensitive to other load.
  const cpu = async (f: () => Promise<unknown>) => {
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) await f();
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1e3 / n;
  };
  const cpuB: number[] = [];
  const cpuO: number[] = [];
  for (let r = 0; r < rounds; r++) {
    cpuB.push(await cpu(baseline));
    cpuO.push(await cpu(ours));
  }
  return {
    jpegBytes: jpeg.length,
    bytesPerPixel: +(jpeg.length / (2048 * 1536)).toFixed(3),
    sequential: summary(sequential),
    fourInFlight: summary(pipelined),
    cpuMsPerImage: {
      baseline: +median(cpuB).toFixed(2),
      preprocess: +median(cpuO).toFixed(2),
      ratio: +(median(cpuB) / median(cpuO)).toFixed(3),
    },
  };
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 7);
  const n = Number(process.argv[3] ?? 40);
  const base = {
    seed: 2048,
    size: 2048,
    height: 1536,
    disease: true,
    severity: 'moderate',
    jpegQuality: 92,
  } as const;
  // Two files: the generator's default (smooth, compresses to ~0.06 bytes/pixel) and one with
  // per-channel sensor noise (~0.15 bytes/pixel, closer to camera output). Decode cost grows with
  // the entropy-coded size; preprocess's own work does not.
  const files = {
    asGenerated: await generateFundus(base),
    sensorNoise16: await generateFundus({ ...base, sensorNoise: 16 }),
  };
  const results: Record<string, unknown> = {};
  for (const [name, jpeg] of Object.entries(files)) results[name] = await measure(jpeg, rounds, n);
  console.log(
    JSON.stringify(
      {
        date: new Date().toISOString(),
        cpu: os.cpus()[0]?.model,
        cores: os.cpus().length,
        loadavgAtEnd: os.loadavg().map((x) => +x.toFixed(2)),
        node: process.version,
        sharp: sharp.versions.sharp,
        vips: sharp.versions.vips,
        sharpConcurrency: sharp.concurrency(),
        rounds,
        imagesPerRound: n,
        ...results,
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
