/**
 * Dynamic batching in front of one loaded model, shared by every chunk that scores with it in this
 * process (WORKER_SCORING_CONCURRENCY chunks at once): images from different chunks go into the
 * same forward passes. When the model is idle, whatever is queued leaves at once (a partial pass
 * while decoding is the bottleneck); while it is busy, full passes of `batchSize` are queued behind
 * the running one (up to `depth` in flight), so the inference thread starts the next pass as soon
 * as one ends and partial passes stay rare (full passes while the model is the bottleneck).
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
    // An idle model takes whatever is queued; a busy one gets only full passes queued behind it.
    while (
      this.queue.length > 0 &&
      (this.inFlight === 0 || (this.inFlight < this.depth && this.queue.length >= this.batchSize))
    ) {
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
