/**
 * Static checks of docker/*.Dockerfile and .dockerignore (no Docker engine runs here): multi-stage,
 * pinned bases, non-root runtime, entry points that exist after `npm run build`, what the webgpu
 * path needs, a build context that holds every file the build copies.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validate } from 'dockerfile-utils';
import { apiEnvSchema, loadConfig } from '@fundus/config';
import { LIVENESS_PATH } from './support/app-routes';
import {
  contextSources,
  copyFrom,
  copyPaths,
  dockerIgnored,
  envOf,
  execForm,
  readStages,
  type Stage,
} from './support/dockerfile';
import {
  FOREIGN_VARIABLES,
  knownVariables,
  schemaOf,
  unknownVariables,
  type AppName,
} from './support/app-env';

const ROOT = join(__dirname, '../..');
const DOCKERFILES: Record<Exclude<AppName, 'migrate'>, string> = {
  api: 'docker/api.Dockerfile',
  'gpu-worker': 'docker/gpu-worker.Dockerfile',
};
const dockerignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8');
const buildConfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as {
  compilerOptions: { rootDir: string; outDir: string };
};
// Debian packages the webgpu path needs on NVIDIA hosts (shared/device/README.md, DESIGN.md).
const VULKAN_PACKAGES = ['libvulkan1', 'libegl1', 'libglvnd0', 'libopengl0', 'libgl1', 'libglx0', 'libgles2'];

function instructions(stage: Stage, keyword: string) {
  return stage.instructions.filter((i) => i.getKeyword() === keyword);
}

function runtimeOf(stages: Stage[]): Stage {
  const runtime = stages.find((s) => s.name === 'runtime');
  expect(runtime).toBe(stages[stages.length - 1]); // the default target
  return runtime!;
}

/** Where tsc puts a source file's output under tsconfig.build.json. */
function builtPath(source: string): string {
  expect(buildConfig.compilerOptions.rootDir).toBe('.');
  return join(buildConfig.compilerOptions.outDir, source.replace(/\.ts$/, '.js'));
}

describe.each(Object.entries(DOCKERFILES))('%s image (%s)', (app, file) => {
  const path = join(ROOT, file);
  const text = readFileSync(path, 'utf8');
  const stages = readStages(path);

  it('passes the Dockerfile linter', () => {
    expect(validate(text).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it('is multi-stage on pinned base images', () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    for (const s of stages.filter((x) => !x.fromStage)) {
      // name:1.2.3-variant or name@sha256:..., never a floating tag.
      expect(s.base).toMatch(/^[\w./-]+(:\d+(\.\d+)+[\w.-]*(@sha256:[0-9a-f]{64})?|@sha256:[0-9a-f]{64})$/);
    }
  });

  it('runs the built entry point as a non-root user with exec-form CMD', () => {
    const runtime = runtimeOf(stages);
    const users = instructions(runtime, 'USER').map((u) => u.getArgumentsContent());
    expect(users.length).toBeGreaterThan(0);
    expect(users[users.length - 1]).not.toMatch(/^(root|0)(:|$)/);
    const [cmd] = instructions(runtime, 'CMD');
    const source = `apps/${app}/src/main.ts`;
    expect(existsSync(join(ROOT, source))).toBe(true);
    expect(execForm(cmd)).toEqual(['node', builtPath(source)]);
    expect(instructions(runtime, 'STOPSIGNAL').map((s) => s.getArgumentsContent())).toEqual(['SIGTERM']);
    // The runtime stage gets the build's output, not the sources.
    const copies = instructions(runtime, 'COPY');
    expect(copies.map(copyFrom).every((from) => from === 'build')).toBe(true);
    expect(copies.map((c) => copyPaths(c).sources[0])).toContain('/app/dist');
  });

  it('installs with scripts off (no binary downloads) and generates the Prisma client explicitly', () => {
    const runs = stages.flatMap((s) => instructions(s, 'RUN').map((r) => r.getArgumentsContent() ?? ''));
    const install = runs.find((r) => r.includes('npm ci'));
    expect(install).toMatch(/npm ci --ignore-scripts/);
    expect(install).toContain('ensure-prisma-client.js');
    expect(runs.some((r) => /npm run build/.test(r) && /npm prune --omit=dev/.test(r))).toBe(true);
    const deps = stages.find((s) =>
      instructions(s, 'RUN').some((r) => r.getArgumentsContent()?.includes('npm ci')),
    )!;
    expect(envOf(deps).ONNXRUNTIME_NODE_INSTALL).toBe('skip');
    // Prisma's generator picks the generated client's import style from tsconfig.json; without the
    // file it writes `import './x.ts'`, which compiles but cannot be loaded from dist/.
    const generateAt = deps.instructions.findIndex(
      (i) => i.getKeyword() === 'RUN' && i.getArgumentsContent()?.includes('ensure-prisma-client'),
    );
    const tsconfigAt = deps.instructions.findIndex(
      (i) => i.getKeyword() === 'COPY' && copyPaths(i).sources.includes('tsconfig.json'),
    );
    expect(tsconfigAt).toBeGreaterThanOrEqual(0);
    expect(tsconfigAt).toBeLessThan(generateAt);
  });

  it('sets only variables the app or its libraries read, with values the app accepts', () => {
    const env = envOf(runtimeOf(stages));
    expect(unknownVariables(app as AppName, Object.keys(env))).toEqual([]);
    const own = Object.fromEntries(
      Object.entries(env).filter(([k]) => knownVariables(app as AppName).includes(k)),
    );
    expect(() =>
      loadConfig(schemaOf(app as AppName)!, { ...own, DATABASE_URL: 'postgresql://u@h/db' }),
    ).not.toThrow();
  });

  it('copies only files that exist and that .dockerignore lets into the build context', () => {
    const sources = stages.flatMap(contextSources);
    expect(sources).toEqual(expect.arrayContaining(['package-lock.json', 'apps', 'libs', 'prisma']));
    for (const s of sources) {
      expect({ s, exists: existsSync(join(ROOT, s)), ignored: dockerIgnored(dockerignore, s) }).toEqual({
        s,
        exists: true,
        ignored: false,
      });
    }
  });
});

describe('api image', () => {
  const stages = readStages(join(ROOT, DOCKERFILES.api));

  it('exposes API_PORT and checks /health on it', () => {
    const runtime = runtimeOf(stages);
    const port = loadConfig(apiEnvSchema, {
      ...envOf(runtime),
      DATABASE_URL: 'postgresql://u@h/db',
    }).API_PORT;
    expect(instructions(runtime, 'EXPOSE').map((e) => e.getArgumentsContent())).toEqual([String(port)]);
    const [health] = instructions(runtime, 'HEALTHCHECK');
    expect(health.getArgumentsContent()).toContain(`'${LIVENESS_PATH}'`);
    expect(health.getArgumentsContent()).toContain('process.env.API_PORT');
  });

  it('has a migrate target running `prisma migrate deploy` with the Prisma config and migrations', () => {
    const migrate = stages.find((s) => s.name === 'migrate')!;
    expect(execForm(instructions(migrate, 'CMD')[0])).toEqual([
      'node_modules/.bin/prisma',
      'migrate',
      'deploy',
    ]);
    const copied = instructions(migrate, 'COPY').flatMap((c) => copyPaths(c).sources);
    expect(copied).toEqual(
      expect.arrayContaining(['/app/node_modules', '/app/prisma.config.ts', '/app/prisma']),
    );
    expect(instructions(migrate, 'USER').map((u) => u.getArgumentsContent())).toEqual(['node']);
    expect(existsSync(join(ROOT, 'prisma/migrations'))).toBe(true);
  });
});

describe('gpu-worker image', () => {
  const runtime = runtimeOf(readStages(join(ROOT, DOCKERFILES['gpu-worker'])));

  it('brings the Vulkan loader and glvnd for the webgpu path and points the loader at the NVIDIA ICD', () => {
    const install = instructions(runtime, 'RUN')
      .map((r) => r.getArgumentsContent() ?? '')
      .find((r) => r.includes('apt-get install'));
    expect(install).toContain('--no-install-recommends');
    for (const pkg of VULKAN_PACKAGES) expect(install!.split(/\s+/)).toContain(pkg);
    expect(install).toContain('rm -rf /var/lib/apt/lists');
    const env = envOf(runtime);
    // Where the NVIDIA container toolkit mounts the ICD first; other known places after it.
    const icds = env.VK_DRIVER_FILES.split(':');
    expect(icds[0]).toBe('/usr/share/vulkan/icd.d/nvidia_icd.json');
    for (const icd of icds) expect(icd).toMatch(/^\/[\w./-]+\/nvidia_icd\.json$/);
    // The toolkit mounts the Vulkan ICD only for the graphics capability.
    expect(env.NVIDIA_DRIVER_CAPABILITIES.split(',')).toEqual(
      expect.arrayContaining(['compute', 'utility', 'graphics']),
    );
    expect(FOREIGN_VARIABLES['gpu-worker']).toEqual(
      expect.arrayContaining(['VK_DRIVER_FILES', 'NVIDIA_DRIVER_CAPABILITIES']),
    );
  });

  it('documents the tfjs-node-gpu alternative', () => {
    const text = readFileSync(join(ROOT, DOCKERFILES['gpu-worker']), 'utf8');
    expect(text).toMatch(/tfjs-node-gpu[\s\S]*CUDA 11\.2[\s\S]*cuDNN 8\.1/);
  });
});

describe('static helpers', () => {
  it('the linter reports a broken Dockerfile', () => {
    expect(validate('FROM node:20\nEXPOSE notaport\nCMD\n').length).toBeGreaterThan(0);
  });

  it('.dockerignore matching follows Docker: last match wins, folders cover their contents', () => {
    const rules = 'dist\n**/node_modules\n.env.*\n!.env.example\nlibs/db/src/generated\n';
    expect(dockerIgnored(rules, 'dist/apps/api/src/main.js')).toBe(true);
    expect(dockerIgnored(rules, 'libs/x/node_modules/y')).toBe(true);
    expect(dockerIgnored(rules, '.env.minio')).toBe(true);
    expect(dockerIgnored(rules, '.env.example')).toBe(false);
    expect(dockerIgnored(rules, 'libs/db/src/generated/client.ts')).toBe(true);
    expect(dockerIgnored(rules, 'libs/db/src/client.ts')).toBe(false);
    expect(dockerIgnored(rules, 'distant')).toBe(false);
  });
});
