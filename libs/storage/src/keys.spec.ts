import * as path from 'node:path';
import { StorageError } from './errors';
import { joinKey, parseStorageUri, validateKey, validatePrefix } from './keys';

describe('validateKey', () => {
  it.each(['a', 'train/normal/img 001.jpg', 'é/ü.png', 'a..b/c..', '..a', 'x'.repeat(1024)])(
    'accepts %j',
    (k) => {
      expect(validateKey(k)).toBe(k);
    },
  );

  it.each([
    ['..', 'path traversal'],
    ['a/..', 'path traversal'],
    ['/abs', 'absolute'],
    ['c:\\x', 'backslash'],
    ['d:/x', 'drive letter'],
    ['a/', 'empty segment'],
    ['.fundus-tmp/x', 'reserved'],
    ['é'.repeat(513), 'longer than 1024 bytes'],
  ])('rejects %j because of %s', (k, why) => {
    expect(() => validateKey(k)).toThrow(
      expect.objectContaining({ code: 'invalid-key', message: expect.stringContaining(why) }),
    );
  });

  it('allows the empty prefix and a trailing slash in prefixes only', () => {
    expect(validatePrefix('')).toBe('');
    expect(validatePrefix('train/')).toBe('train/');
    expect(() => validatePrefix('train//')).toThrow(StorageError);
    expect(() => validatePrefix('../')).toThrow(/path traversal/);
  });
});

describe('parseStorageUri', () => {
  it('parses s3 roots and normalises the prefix', () => {
    expect(parseStorageUri('s3://my-bucket')).toEqual({ scheme: 's3', bucket: 'my-bucket', prefix: '' });
    expect(parseStorageUri('s3://my-bucket/')).toEqual({ scheme: 's3', bucket: 'my-bucket', prefix: '' });
    expect(parseStorageUri('s3://my-bucket/data/fundus')).toEqual({
      scheme: 's3',
      bucket: 'my-bucket',
      prefix: 'data/fundus/',
    });
  });

  it('parses absolute and relative file roots', () => {
    expect(parseStorageUri('file:///srv/data')).toEqual({ scheme: 'file', path: '/srv/data' });
    expect(parseStorageUri('file://./.data/storage', '/app')).toEqual({
      scheme: 'file',
      path: path.resolve('/app/.data/storage'),
    });
    expect(parseStorageUri('file://rel/dir', '/app')).toEqual({ scheme: 'file', path: '/app/rel/dir' });
    expect(parseStorageUri('file:///srv/my%20data')).toEqual({ scheme: 'file', path: '/srv/my data' });
  });

  it.each([
    ['', /empty/],
    ['bucket/key', /must look like/],
    ['http://x/y', /not supported/],
    ['s3://UPPER/x', /not a valid S3 bucket name/],
    ['s3://a..b/x', /not a valid S3 bucket name/],
    ['s3://ok-bucket/a/../b', /path traversal/],
    ['file://', /no path/],
    ['file://%E0%A4%A', /malformed/],
  ])('rejects %j saying why', (uri, why) => {
    expect(() => parseStorageUri(uri)).toThrow(
      expect.objectContaining({ code: 'invalid-uri', message: expect.stringMatching(why) }),
    );
  });
});

describe('joinKey', () => {
  it('joins with single slashes and skips empty parts', () => {
    expect(joinKey('a/', '/b', '', 'c')).toBe('a/b/c');
    expect(joinKey('', 'x')).toBe('x');
  });
});
