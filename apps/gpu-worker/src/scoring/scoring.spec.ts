import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createObjectStore } from '@fundus/storage';
import { csvField, RESULTS_COLUMNS } from './results-csv';
import { actualEtag } from './scoring.engine';
import { modelPrefix } from './model-cache';
import { ScoringError } from './scoring.types';

describe('results CSV fields', () => {
  it('quotes what would break a row or run as a spreadsheet formula', () => {
    expect(csvField('intake/a.jpg')).toBe('intake/a.jpg');
    expect(csvField('a,b.jpg')).toBe('"a,b.jpg"');
    expect(csvField('"0123"')).toBe('"""0123"""');
    expect(csvField('line\nbreak')).toBe('"line\nbreak"');
    expect(csvField('=HYPERLINK("x")')).toBe('"=HYPERLINK(""x"")"');
    expect(csvField('@sum')).toBe('"@sum"');
    expect(csvField(null)).toBe('');
    expect(csvField(0.25)).toBe('0.25');
    expect(csvField(false)).toBe('false');
  });

  it('has a stable column order', () => {
    expect(RESULTS_COLUMNS[0]).toBe('key');
    expect(new Set(RESULTS_COLUMNS).size).toBe(RESULTS_COLUMNS.length);
  });
});

describe('actualEtag', () => {
  const bytes = Buffer.from('fundus');
  const md5 = `"${createHash('md5').update(bytes).digest('hex')}"`;

  it('keeps the planned ETag when the bytes match it', () => {
    expect(actualEtag(md5, bytes)).toBe(md5);
  });

  it('returns the ETag of the bytes read when the object changed after planning', () => {
    expect(actualEtag('"00000000000000000000000000000000"', bytes)).toBe(md5);
  });

  it('keeps multipart ETags, which are not an MD5 of the bytes', () => {
    expect(actualEtag('"0123456789abcdef0123456789abcdef-3"', bytes)).toBe(
      '"0123456789abcdef0123456789abcdef-3"',
    );
  });
});

describe('modelPrefix', () => {
  const store = createObjectStore(`file://${mkdtempSync(join(tmpdir(), 'scoring-spec-'))}`);
  afterAll(() => store.close());

  it('accepts the folder URI or the model.json URI', () => {
    expect(modelPrefix(store, store.uriFor('runs/r1/model'))).toBe('runs/r1/model');
    expect(modelPrefix(store, store.uriFor('runs/r1/model/model.json'))).toBe('runs/r1/model');
  });

  it('refuses a URI outside the store', () => {
    expect(() => modelPrefix(store, 's3://elsewhere/runs/r1/model')).toThrow(ScoringError);
  });
});
