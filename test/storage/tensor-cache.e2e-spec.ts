import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { TensorCache } from '@fundus/storage';

const ROOT = path.resolve(__dirname, '../..');
const ENTRY_BYTES = 16 * 16 * 3 * 4 + 8 + 12;

function runHammer(
  dir: string,
  maxBytes: number,
  offset: number,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(__dirname, 'fixtures', 'cache-hammer.ts'),
        dir,
        String(maxBytes),
        String(offset),
      ],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe('TensorCache shared by several worker processes', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'fundus-cache-mp-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('serves correct tensors to every process while they evict under each other, and stays bounded', async () => {
    const maxBytes = 12 * ENTRY_BYTES; // 40 keys in play, room for 12
    const results = await Promise.all([0, 5, 11].map((offset) => runHammer(dir, maxBytes, offset)));
    for (const r of results) expect(r).toMatchObject({ code: 0 });
    const stats = results.map(
      (r) => JSON.parse(r.out.trim().split('\n').pop()!) as { hits: number; evicted: number; bad: number },
    );
    expect(stats.every((s) => s.bad === 0)).toBe(true);
    expect(stats.reduce((n, s) => n + s.evicted, 0)).toBeGreaterThan(0);
    expect(stats.reduce((n, s) => n + s.hits, 0)).toBeGreaterThan(0);
    const cache = await TensorCache.open({ dir, maxBytes });
    expect(await cache.sizeOnDisk()).toBeLessThanOrEqual(maxBytes);
  });
});
