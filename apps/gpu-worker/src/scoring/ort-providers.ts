/**
 * Which ONNX Runtime execution provider scores (SCORING_ORT_PROVIDERS), and the session options.
 * Runs in the inference thread.
 *
 * - `cpu`: ORT's CPU provider.
 * - `webgpu`: ORT's WebGPU provider (bundled in onnxruntime-node for linux x64; it brings its own
 *   Dawn), on whatever adapter it finds, software ones (lavapipe) included.
 * - `cuda`: ORT's CUDA provider. Not bundled: onnxruntime-node's install script fetches
 *   `libonnxruntime_providers_cuda.so` into its bin folder, which `ONNXRUNTIME_NODE_INSTALL=skip`
 *   (this project's default) does not; it also needs the CUDA 12 and cuDNN 9 libraries.
 * - `auto`: `cuda` when its provider library is present, else `webgpu` when Dawn finds a hardware
 *   adapter, else `cpu`.
 *
 * A provider that cannot start falls back to CPU; the reason comes back as `note` (logged once by
 * the model cache) and the failed provider is not tried again in this thread.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { probeWebGpu } from '@fundus/model';

export type OrtProvider = 'cpu' | 'webgpu' | 'cuda';
export type OrtProviderSetting = OrtProvider | 'auto';
export const ORT_PROVIDER_SETTINGS: readonly OrtProviderSetting[] = ['cpu', 'webgpu', 'cuda', 'auto'];

export interface OrtOptions {
  providers: OrtProviderSetting;
  /** Intra-op threads of each session; 0 = ONNX Runtime's default (one per core). */
  threads: number;
}

/** The folder holding onnxruntime-node's native binding and libraries for this platform. */
export function ortBinFolders(): string[] {
  let root: string;
  try {
    root = dirname(dirname(require.resolve('onnxruntime-node')));
  } catch {
    return [];
  }
  const bin = join(root, 'bin');
  if (!existsSync(bin)) return [];
  return readdirSync(bin)
    .filter((d) => d.startsWith('napi-v'))
    .map((d) => join(bin, d, process.platform, process.arch))
    .filter((d) => existsSync(d));
}

/** Whether onnxruntime-node's CUDA provider library is installed beside its binding. */
export function cudaProviderPresent(): boolean {
  return ortBinFolders().some((d) => existsSync(join(d, 'libonnxruntime_providers_cuda.so')));
}

/** Providers that failed in this thread, with why (not tried again). */
const failed = new Map<OrtProvider, string>();
/** What `auto` resolved to in this thread, with why when it is CPU. */
let autoChoice: { provider: OrtProvider; why?: string } | undefined;

async function resolveAuto(): Promise<{ provider: OrtProvider; why?: string }> {
  if (autoChoice) return autoChoice;
  if (cudaProviderPresent()) return (autoChoice = { provider: 'cuda' });
  let adapter: Awaited<ReturnType<typeof probeWebGpu>> = null;
  try {
    adapter = await probeWebGpu();
  } catch {
    adapter = null;
  }
  if (adapter && !adapter.software) return (autoChoice = { provider: 'webgpu' });
  const gpu = adapter ? `only a software WebGPU adapter (${adapter.description})` : 'no WebGPU adapter';
  return (autoChoice = {
    provider: 'cpu',
    why: `SCORING_ORT_PROVIDERS=auto: ONNX Runtime scores on CPU (no libonnxruntime_providers_cuda.so in onnxruntime-node's bin folder, ${gpu})`,
  });
}

function sessionOptions(provider: OrtProvider, threads: number): ort.InferenceSession.SessionOptions {
  const o: ort.InferenceSession.SessionOptions = {
    executionProviders: provider === 'cpu' ? ['cpu'] : [provider, 'cpu'],
    // No spinning between runs: the decode threads use the same cores meanwhile.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
  if (threads > 0) o.intraOpNumThreads = threads;
  return o;
}

/**
 * An ORT session for `onnx` on the configured provider, or on CPU when that provider cannot
 * start. `note` says why CPU was used instead (only the first time in this thread).
 */
export async function createOrtSession(
  onnx: Uint8Array,
  opts: OrtOptions,
): Promise<{ session: ort.InferenceSession; provider: OrtProvider; note?: string }> {
  let want: OrtProvider;
  let note: string | undefined;
  if (opts.providers === 'auto') {
    const first = autoChoice === undefined;
    const choice = await resolveAuto();
    want = choice.provider;
    if (first && choice.why) note = choice.why;
  } else want = opts.providers;
  if (want !== 'cpu') {
    if (want === 'cuda' && !failed.has('cuda') && !cudaProviderPresent()) {
      failed.set('cuda', 'absent');
      note =
        "ONNX Runtime's cuda execution provider is not installed (no libonnxruntime_providers_cuda.so in onnxruntime-node's bin folder: it was installed with ONNXRUNTIME_NODE_INSTALL=skip); scoring on CPU";
    }
    if (!failed.has(want)) {
      try {
        return {
          session: await ort.InferenceSession.create(onnx, sessionOptions(want, opts.threads)),
          provider: want,
        };
      } catch (err) {
        const why = `ONNX Runtime's ${want} execution provider cannot start (${oneLine((err as Error).message)}); scoring on CPU`;
        failed.set(want, why);
        note = why;
      }
    }
  }
  const session = await ort.InferenceSession.create(onnx, sessionOptions('cpu', opts.threads));
  return note ? { session, provider: 'cpu', note } : { session, provider: 'cpu' };
}

function oneLine(s: string): string {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
