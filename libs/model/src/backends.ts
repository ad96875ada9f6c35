/**
 * Choosing and initialising the TensorFlow.js backend.
 *
 * - `wasm`: CPU default. Gets our training kernels (wasm-kernels.ts); one thread under Node.
 * - `webgpu`: Dawn through the `webgpu` npm package — a GPU through Vulkan, or Mesa lavapipe on CPU.
 * - `tensorflow`: only when `@tensorflow/tfjs-node(-gpu)` happens to be installed.
 * - `cpu`: plain JavaScript, tiny models only.
 * - `auto`: `webgpu` when a real (hardware) adapter exists, else `wasm`.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import * as path from 'node:path';
import { registerFastBatchNormGradient } from './batchnorm-grad';
import { ModelError } from './errors';
import { registerWasmTrainingKernels } from './wasm-kernels';
import { registerWebGpuTrainingKernels } from './webgpu';

/** Backend names accepted in configuration. */
export const BACKEND_NAMES = ['auto', 'wasm', 'webgpu', 'tensorflow', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
/** A backend that actually runs (never `auto`). */
export type ResolvedBackend = Exclude<BackendName, 'auto'>;

/** What `initBackend` chose and, for webgpu, which adapter it runs on. */
export interface BackendInfo {
  backend: ResolvedBackend;
  /** Adapter description for webgpu (e.g. "llvmpipe: Mesa 25.0.7"), else undefined. */
  adapter?: string;
  /** True when the webgpu adapter is a software rasteriser (lavapipe, SwiftShader). */
  softwareAdapter?: boolean;
}

interface AdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
}
interface GpuLike {
  requestAdapter(options?: unknown): Promise<AdapterLike | null>;
}
interface WebGpuModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}

let gpuInstance: GpuLike | undefined;

/**
 * The `webgpu` package is an ES module, which CommonJS code on Node 20 (and Jest's module system)
 * cannot `require`; its native addon `dist/<platform>-<arch>/dawn.node` is plain CommonJS, so load
 * that directly. (The package's wrapper only adds unmapping on GPUDevice.destroy, which tfjs never calls.)
 */
function loadDawn(): WebGpuModule {
  const root = path.dirname(require.resolve('webgpu/package.json'));
  const arch = process.platform === 'darwin' ? 'universal' : process.arch;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(root, 'dist', `${process.platform}-${arch}`, 'dawn.node')) as WebGpuModule;
}

/** Installs Dawn's WebGPU as `navigator.gpu` (Node has none). Idempotent. */
function installDawn(): GpuLike {
  if (gpuInstance) return gpuInstance;
  let mod: WebGpuModule;
  try {
    mod = loadDawn();
  } catch (err) {
    throw new ModelError(
      'backend-unavailable',
      `backend "webgpu" needs the "webgpu" npm package (Dawn for Node): ${(err as Error).message}`,
      { cause: err },
    );
  }
  Object.assign(globalThis, mod.globals);
  gpuInstance = mod.create([]);
  const g = globalThis as unknown as { navigator?: Record<string, unknown> };
  if (g.navigator && typeof g.navigator === 'object') {
    Object.defineProperty(g.navigator, 'gpu', { value: gpuInstance, configurable: true });
  } else {
    Object.defineProperty(globalThis, 'navigator', {
      value: { gpu: gpuInstance },
      configurable: true,
      writable: true,
    });
  }
  return gpuInstance;
}

function describeAdapter(adapter: AdapterLike): { description: string; software: boolean } {
  const i = adapter.info ?? {};
  const description = [i.description, i.device, i.vendor].filter((s) => s).join(' | ') || 'unknown adapter';
  const software =
    i.architecture === 'software' ||
    /llvmpipe|lavapipe|swiftshader|software/i.test(`${i.description} ${i.device}`);
  return { description, software };
}

/**
 * Looks for a WebGPU adapter through Dawn without switching backends.
 * @returns the adapter's description and whether it is software, or null when there is none.
 */
export async function probeWebGpu(): Promise<{ description: string; software: boolean } | null> {
  let gpu: GpuLike;
  try {
    gpu = installDawn();
  } catch {
    return null;
  }
  const adapter = await gpu.requestAdapter();
  return adapter ? describeAdapter(adapter) : null;
}

async function activate(name: ResolvedBackend): Promise<void> {
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
  } catch (err) {
    throw new ModelError(
      'backend-unavailable',
      `backend "${name}" failed to initialise: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  if (!ok) throw new ModelError('backend-unavailable', `backend "${name}" failed to initialise`);
  await tf.ready();
}

/**
 * Selects and initialises a tfjs backend for this process (or worker thread).
 * @param name `auto` (default): webgpu on a hardware adapter, else wasm.
 * @throws ModelError `backend-unavailable` when the backend cannot start (no adapter, package absent).
 */
export async function initBackend(name: BackendName = 'auto'): Promise<BackendInfo> {
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw new ModelError(
      'invalid-config',
      `backend must be one of ${BACKEND_NAMES.join(', ')}; got "${String(name)}"`,
    );
  }
  registerFastBatchNormGradient();
  switch (name) {
    case 'auto': {
      const probe = await probeWebGpu();
      if (probe && !probe.software) return initBackend('webgpu');
      return initBackend('wasm');
    }
    case 'wasm':
      registerWasmTrainingKernels();
      await activate('wasm');
      return { backend: 'wasm' };
    case 'cpu':
      await activate('cpu');
      return { backend: 'cpu' };
    case 'webgpu': {
      const gpu = installDawn();
      const adapter = await gpu.requestAdapter();
      if (!adapter) {
        throw new ModelError(
          'backend-unavailable',
          'backend "webgpu": Dawn found no adapter (no GPU driver, and no Mesa lavapipe; see scripts/ci/install-lavapipe.sh)',
        );
      }
      const { description, software } = describeAdapter(adapter);
      await import('@tensorflow/tfjs-backend-webgpu');
      registerWebGpuTrainingKernels();
      await activate('webgpu');
      return { backend: 'webgpu', adapter: description, softwareAdapter: software };
    }
    case 'tensorflow': {
      if (!tf.findBackend('tensorflow')) {
        const candidates = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];
        let loaded = false;
        for (const pkg of candidates) {
          try {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            require(pkg);
            loaded = true;
            break;
          } catch {
            // try the next package
          }
        }
        if (!loaded) {
          throw new ModelError(
            'backend-unavailable',
            'backend "tensorflow" needs @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu, and neither is installed',
          );
        }
      }
      await activate('tensorflow');
      return { backend: 'tensorflow' };
    }
  }
}
