// Module-level copies: global lookups are slow inside vm contexts (e.g. Jest's), and these run per sample.
const imul = Math.imul;
const floor = Math.floor;
const sqrt = Math.sqrt;
const log = Math.log;
const cos = Math.cos;
const TWO_PI = 2 * Math.PI;

/**
 * A small seeded PRNG (mulberry32) whose whole state is one uint32, so a checkpoint can store it
 * and a resumed run continues the same random sequence (shuffling, augmentation seeds).
 */
export class Rng {
  private s: number;

  /** @param seed any integer; equal seeds give equal sequences. */
  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** The full generator state (uint32), for checkpoints. */
  get state(): number {
    return this.s;
  }

  /** Restores a state previously read from `state`. */
  set state(v: number) {
    this.s = v >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return floor(this.next() * n);
  }

  /** A fresh uint32, e.g. to seed one augmentation or one layer initialiser. */
  uint32(): number {
    return floor(this.next() * 4294967296) >>> 0;
  }

  /** Standard normal sample (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return sqrt(-2 * log(u)) * cos(TWO_PI * v);
  }

  /** Normal sample with mean 0 and `std`, redrawn until within ±2 std (Keras' truncated normal). */
  truncatedNormal(std: number): number {
    for (;;) {
      const z = this.normal();
      if (z >= -2 && z <= 2) return z * std;
    }
  }

  /** Fisher–Yates shuffle in place; returns `a`. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}
