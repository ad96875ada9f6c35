import { DbError } from '@fundus/db';
import { ServiceError } from '@fundus/services';
import { DatasetError, StorageError } from '@fundus/storage';
import { z } from 'zod';
import { RateLimiter } from '../auth/rate-limiter';
import { runCurves } from '../resources/run-curves';
import { decodeCursor, encodeCursor } from './cursor';
import { errorToBody } from './exception.filter';
import { parseInput, RequestValidationError } from './validation';

const ID = '0b7c5d0e-3f1a-4a57-9a52-1c2d3e4f5a6b';

describe('cursor', () => {
  it.each([[0.8123], ['intake/a.jpg'], [new Date('2026-11-26T01:02:03.456Z')]])('round-trips %p', (value) => {
    expect(decodeCursor(encodeCursor(value, ID))).toEqual({ value, id: ID });
  });

  it.each([
    '',
    'garbage',
    Buffer.from('[1,"not-a-uuid"]').toString('base64url'),
    Buffer.from('{"a":1}').toString('base64url'),
  ])('rejects %p with a 400 naming the cursor', (bad) => {
    expect(() => decodeCursor(bad)).toThrow(RequestValidationError);
    expect(() => decodeCursor(bad)).toThrow(/cursor: is not a cursor/);
  });
});

describe('errorToBody', () => {
  it.each([
    [new ServiceError('invalid', 'bad config', ['epochs: must be positive']), 400],
    [new ServiceError('not-found', 'no run'), 404],
    [new ServiceError('invalid-state', 'run is done'), 409],
    [new ServiceError('forbidden', 'no'), 403],
    [new StorageError('outside-root', 'elsewhere'), 400],
    [new StorageError('bucket-not-allowed', 'bucket'), 400],
    [new StorageError('not-found', 'gone'), 404],
    [new StorageError('unavailable', 'down', { retryable: true }), 503],
    [new DatasetError('empty-split', 'every split needs an image', ['split "val" is empty']), 422],
    [new DbError('not-found', 'no row'), 404],
    [new DbError('conflict', 'taken'), 409],
    [Object.assign(new Error('Unexpected token'), { type: 'entity.parse.failed', status: 400 }), 400],
    [Object.assign(new Error('too large'), { type: 'entity.too.large', status: 413, limit: 1024 }), 413],
  ])('%s → %i', (err, status) => {
    const body = errorToBody(err);
    expect(body.statusCode).toBe(status);
    expect(body.message.length).toBeGreaterThan(0);
  });

  it('keeps the details of an unexpected error out of the answer', () => {
    expect(errorToBody(new Error('password=hunter2 at db.internal'))).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'internal error',
    });
  });

  it('lists every zod issue with its path', () => {
    const schema = z.object({ a: z.number().min(0), b: z.object({ c: z.string() }) }).strict();
    try {
      parseInput(schema, { a: -1, b: { c: 3 }, d: 1 }, 'body');
      throw new Error('unreachable');
    } catch (err) {
      const body = errorToBody(err);
      expect(body.statusCode).toBe(400);
      expect((body.issues as Array<{ path: string }>).map((i) => i.path).sort()).toEqual(['', 'a', 'b.c']);
    }
  });
});

describe('RateLimiter', () => {
  it('allows `limit` hits per caller per minute window, then says how long to wait', () => {
    let now = 1_000_000;
    const limiter = new RateLimiter(2, () => now);
    expect([limiter.hit('a'), limiter.hit('a'), limiter.hit('b')]).toEqual([0, 0, 0]);
    now += 15_000;
    expect(limiter.hit('a')).toBe(45);
    now += 45_000;
    expect(limiter.hit('a')).toBe(0);
  });
});

describe('runCurves', () => {
  it('is null without stored scores or with one class only', () => {
    expect(runCurves(null)).toBeNull();
    expect(runCurves({ atThreshold: {} })).toBeNull();
    expect(runCurves({ labels: [1, 1], scores: [0.2, 0.9] })).toBeNull();
    expect(runCurves({ labels: [1, 0], scores: [0.2] })).toBeNull();
    expect(runCurves({ labels: [1, 7], scores: [0.2, 0.4] })).toBeNull();
  });

  it('thins the threshold table to at most maxRows rows, keeping both ends', () => {
    const n = 500;
    const labels = Array.from({ length: n }, (_, i) => i % 2);
    const scores = Array.from({ length: n }, (_, i) => i / n);
    const c = runCurves({ labels, scores }, 50)!;
    expect(c.thresholdTable).toHaveLength(50);
    expect(c.thresholdTable[0]).toMatchObject({ threshold: null, tp: 0 });
    expect(c.thresholdTable[49]).toMatchObject({ tp: n / 2, fp: n / 2 });
    expect(c.roc[0]).toEqual({ fpr: 0, tpr: 0, threshold: null });
  });
});
