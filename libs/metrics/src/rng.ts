/**
 * mulberry32: a tiny seeded 32-bit PRNG (Tommy Ettinger's public-domain design).
 * Returns a function yielding floats in [0, 1) with 2^-32 resolution; same seed, same sequence.
 * Good enough for bootstrap resampling and synthetic data; not for cryptography.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform integer in [0, n) from a [0, 1) generator. */
export function randomInt(rand: () => number, n: number): number {
  return Math.floor(rand() * n);
}
