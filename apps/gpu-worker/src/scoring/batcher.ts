/**
 * Dynamic batching in front of one loaded model, shared by every chunk that scores with it in this
 * process (WORKER_SCORING_CONCURRENCY chunks at once): images from different chunks go into the
 * same forward passes. Up to `depth` batches are in flight to the inference thread, so it starts
 * the next pass as soon as one ends; a batch leaves as soon as fewer than `depth` are in flight
 * (small batches while decoding is the bottleneck), else waits and fills up to `batchSize` (full
 * batches while the model is the bottleneck).
 */
export class InferenceBatcher {
  private queue: Array<{ data: Float32Array; resolve: (p: number) => void; reject: (e: Error) => void }> = [];
  private inFlight = 0;
  /** Forward passes sent and images in them (tests, logs). */
  passes = 0;
  images = 0;

  /**
   * @param per floats per image (S × S × 3)
   * @param infer the model's forward pass: n images → n probabilities (`x`'s buffer may be transferred)
   */
  constructor(
    private readonly per: number,
    private readonly infer: (x: Float32Array, n: number) => Promise<Float32Array>,
    private readonly batchSize: number,
    private readonly depth = 2,
  ) {}

  /** P(disease) of one preprocessed image (`per` floats). */
  predict(data: Float32Array): Promise<number> {
    if (data.length !== this.per)
      return Promise.reject(new RangeError(`image has ${data.length} floats, expected ${this.per}`));
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ data, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.depth && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.batchSize);
      const x = new Float32Array(batch.length * this.per);
      batch.forEach((b, i) => x.set(b.data, i * this.per));
      this.inFlight += 1;
      this.passes += 1;
      this.images += batch.length;
      this.infer(x, batch.length).then(
        (probs) => {
          batch.forEach((b, i) => b.resolve(probs[i]));
          this.done();
        },
        (err: Error) => {
          for (const b of batch) b.reject(err);
          this.done();
        },
      );
    }
  }

  private done(): void {
    this.inFlight -= 1;
    this.pump();
  }
}
