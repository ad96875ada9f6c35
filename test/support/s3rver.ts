import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** A running s3rver instance over a temporary folder. */
export interface S3rverHandle {
  /** e.g. `http://127.0.0.1:41234` */
  endpoint: string;
  /** A bucket that exists, empty at start. */
  bucket: string;
  /** s3rver's fixed credentials (it checks signatures). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Region to sign with. */
  region: string;
  /**
   * Writes objects straight into the server's folder with s3rver's own store code, bypassing HTTP
   * (about 20x faster than PUTs through s3rver): for tests that need many objects to read back.
   */
  seed(bucket: string, objects: Array<{ key: string; body: Buffer }>, concurrency?: number): Promise<void>;
  /** Stops the server and deletes its folder. */
  stop(): Promise<void>;
}

interface S3rverStore {
  putObject(object: unknown): Promise<unknown>;
}

// s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only offers through
// its legacy provider; so it runs in its own Node process started with --openssl-legacy-provider
// (which also keeps its CPU work off the test process). It exits when our end of stdin closes.
const SERVER_SCRIPT = `
const S3rver = require('s3rver');
const [directory, buckets, verbose] = process.argv.slice(1);
const server = new S3rver({
  address: '127.0.0.1', port: 0, silent: verbose !== '1', directory,
  configureBuckets: buckets.split(',').map((name) => ({ name })),
});
server.run().then((addr) => process.stdout.write(JSON.stringify({ port: addr.port }) + '\\n'));
const quit = () => server.close().finally(() => process.exit(0));
process.stdin.on('end', quit);
process.stdin.resume();
process.on('SIGTERM', quit);
`;

/**
 * Starts an S3-compatible server (s3rver, in a child process) on a free port of 127.0.0.1 with one
 * empty bucket (default `fundus-test`; more with `extraBuckets`). Use path-style addressing
 * (`forcePathStyle: true`) and the returned credentials. `S3RVER_VERBOSE=1` logs every request.
 */
export async function startS3rver(
  options: { bucket?: string; extraBuckets?: string[] } = {},
): Promise<S3rverHandle> {
  const directory = await mkdtemp(path.join(tmpdir(), 's3rver-'));
  const bucket = options.bucket ?? 'fundus-test';
  const buckets = [bucket, ...(options.extraBuckets ?? [])].join(',');
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', '-e', SERVER_SCRIPT, directory, buckets, process.env.S3RVER_VERBOSE ?? ''],
    {
      cwd: path.resolve(__dirname, '../..'),
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const line = /^(\{.*\})\n/m.exec(out);
      if (line) {
        child.stdout.off('data', onData);
        resolve((JSON.parse(line[1]) as { port: number }).port);
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`s3rver exited with code ${code} before listening:\n${out}`)),
    );
  });
  child.stdout.resume();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    region: 'us-east-1',
    async seed(target, objects, concurrency = 16) {
      /* eslint-disable @typescript-eslint/no-require-imports */
      const FilesystemStore = require('s3rver/lib/stores/filesystem') as new (dir: string) => S3rverStore;
      const S3Object = require('s3rver/lib/models/object') as new (
        b: string,
        k: string,
        c: Buffer,
        m: Record<string, string>,
      ) => unknown;
      /* eslint-enable @typescript-eslint/no-require-imports */
      const store = new FilesystemStore(directory);
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < objects.length) {
            const { key, body } = objects[next++];
            await store.putObject(
              new S3Object(target, key, body, { 'content-type': 'application/octet-stream' }),
            );
          }
        }),
      );
    },
    async stop() {
      child.stdin.end();
      await exited;
      await rm(directory, { recursive: true, force: true });
    },
  };
}
