/**
 * Fixed one-minute windows per caller, in this process's memory. With several API replicas each
 * one counts on its own, so the effective limit is `limit × replicas`.
 */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    readonly limitPerMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one request of `caller`; returns the seconds to wait when over the limit, else 0. */
  hit(caller: string): number {
    const t = this.now();
    const w = this.windows.get(caller);
    if (!w || t - w.start >= 60_000) {
      if (this.windows.size > 10_000) this.windows.clear();
      this.windows.set(caller, { start: t, count: 1 });
      return 0;
    }
    w.count += 1;
    return w.count > this.limitPerMinute ? Math.max(1, Math.ceil((w.start + 60_000 - t) / 1000)) : 0;
  }
}
