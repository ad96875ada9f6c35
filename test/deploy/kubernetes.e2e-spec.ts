/**
 * Static checks of infra/: every kustomization renders (with our renderer, checked against the real
 * kustomize's committed output), every object validates against the Kubernetes / KEDA schemas, and
 * the workloads agree with the apps: environment, ports, probe paths, queues, GPU requests.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { ConfigMap, Namespace, Service, ServiceAccount } from 'kubernetes-models/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { loadConfig, QUEUE_KINDS } from '@fundus/config';
import { QueueName } from '@fundus/jobs';
import {
  kustomize,
  KustomizeError,
  readYamlDocuments,
  resourceId,
  strategicMerge,
  type Json,
  type JsonObject,
  type Resource,
} from './support/kustomize';
import { parseEnvFile, requiredVariables, schemaOf, unknownVariables, type AppName } from './support/app-env';
import { unknownFields } from './support/strict-fields';
import { LIVENESS_PATH, READINESS_PATH } from './support/app-routes';

const INFRA = join(__dirname, '../../infra');
const OVERLAYS = readdirSync(join(INFRA, 'overlays'));
const TARGETS = ['base', ...OVERLAYS.map((o) => `overlays/${o}`)];
const SECRET_NAME = 'fundus-secrets';
const secretExample = parseEnvFile(join(INFRA, 'base/secrets.example.env'));
// libs/platform's exitCleanlyOnSignals gives a closing process 60 s before it exits by itself.
const APP_SHUTDOWN_GRACE_S = 60;

interface Validatable {
  validate(): void;
}
type ModelClass = { apiVersion: string; kind: string; new (data: never): Validatable };
const MODELS: ModelClass[] = [
  Deployment,
  Job,
  ConfigMap,
  Namespace,
  Service,
  ServiceAccount,
  NetworkPolicy,
  PodDisruptionBudget,
  ScaledObject,
  TriggerAuthentication,
] as unknown as ModelClass[];

const rendered = new Map<string, Resource[]>(TARGETS.map((t) => [t, kustomize(join(INFRA, t))]));

function renderedName(target: string): string {
  return target === 'base' ? 'base' : target.slice('overlays/'.length);
}

function byKind(resources: Resource[], kind: string): Resource[] {
  return resources.filter((r) => r.kind === kind);
}

function find(resources: Resource[], kind: string, name: string): Resource {
  const r = resources.find((x) => x.kind === kind && x.metadata.name === name);
  if (!r) throw new Error(`${kind}/${name} not rendered`);
  return r;
}

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function podSpec(r: Resource): Obj {
  return (r.spec as Obj).template.spec as Obj;
}

function podLabels(r: Resource): Record<string, string> {
  return (r.spec as Obj).template.metadata.labels as Record<string, string>;
}

function matches(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

/** Which app a container runs, told by its image (the names docker/ builds). */
function appOf(image: string): AppName {
  const m = /fundus-screen\/(api|gpu-worker|migrate)(:|@|$)/.exec(image);
  if (!m) throw new Error(`image ${image} is none of ours`);
  return m[1] as AppName;
}

interface ResolvedEnv {
  /** Every variable name the container gets, whatever its source. */
  names: string[];
  /** Names whose value is always there (literal, ConfigMap, or a non-optional Secret key). */
  guaranteed: string[];
  /** Values, with Secret keys taken from secrets.example.env. */
  values: Record<string, string>;
}

function resolveEnv(container: Obj, resources: Resource[]): ResolvedEnv {
  const names: string[] = [];
  const guaranteed: string[] = [];
  const values: Record<string, string> = {};
  for (const from of (container.envFrom ?? []) as Obj[]) {
    // A Secret as envFrom hides its keys from any static check: name the keys one by one instead.
    expect(from.secretRef).toBeUndefined();
    const cm = find(resources, 'ConfigMap', from.configMapRef.name as string);
    for (const [k, v] of Object.entries((cm.data ?? {}) as Record<string, string>)) {
      names.push(k);
      guaranteed.push(k);
      values[k] = v;
    }
  }
  for (const e of (container.env ?? []) as Obj[]) {
    names.push(e.name as string);
    if (typeof e.value === 'string') {
      guaranteed.push(e.name);
      values[e.name] = e.value;
    } else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef as Obj;
      expect(ref.name).toBe(SECRET_NAME);
      expect(Object.keys(secretExample)).toContain(ref.key);
      if (!ref.optional) guaranteed.push(e.name);
      values[e.name] = secretExample[ref.key as string];
    } else if (e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef as Obj;
      const value = (find(resources, 'ConfigMap', ref.name).data as Obj | undefined)?.[ref.key];
      expect(value).toBeDefined();
      guaranteed.push(e.name);
      values[e.name] = value;
    } else {
      throw new Error(`env ${e.name}: unsupported source`);
    }
  }
  return { names, guaranteed, values };
}

/** Containers of every pod-owning object: [owner, container, app]. */
function containers(resources: Resource[]): Array<[Resource, Obj, AppName]> {
  return resources
    .filter((r) => r.kind === 'Deployment' || r.kind === 'Job')
    .flatMap((r) =>
      (podSpec(r).containers as Obj[]).map(
        (c) => [r, c, appOf(c.image as string)] as [Resource, Obj, AppName],
      ),
    );
}

describe('kustomize renderer', () => {
  it.each(TARGETS)('renders %s exactly as kustomize does (infra/rendered)', (target) => {
    const theirs = readYamlDocuments(join(INFRA, 'rendered', `${renderedName(target)}.yaml`)) as Resource[];
    const ours = rendered.get(target)!;
    const key = (r: Resource) => `${r.metadata.namespace ?? ''}/${resourceId(r)}`;
    expect(ours.map(key).sort()).toEqual(theirs.map(key).sort());
    for (const r of ours) expect(r).toEqual(theirs.find((t) => key(t) === key(r)));
  });

  it('merges patches strategically: by name in lists, null deletes', () => {
    const target: Json = {
      spec: {
        containers: [{ name: 'a', resources: { limits: { cpu: '1', gpu: 1 } } }, { name: 'b' }],
        tolerations: [{ key: 'x' }],
      },
    };
    const patch: Json = {
      spec: { containers: [{ name: 'a', resources: { limits: { gpu: null } } }], tolerations: null },
    };
    expect(strategicMerge(target, patch)).toEqual({
      spec: { containers: [{ name: 'a', resources: { limits: { cpu: '1' } } }, { name: 'b' }] },
    });
  });

  it('refuses kustomization fields it does not implement', () => {
    expect(() => kustomize(join(__dirname, 'fixtures/unsupported-kustomization'))).toThrow(KustomizeError);
  });
});

describe.each(TARGETS)('%s', (target) => {
  const resources = rendered.get(target)!;

  it('validates every object against the Kubernetes and KEDA schemas', () => {
    for (const r of resources) {
      const Model = MODELS.find((m) => m.apiVersion === r.apiVersion && m.kind === r.kind);
      if (!Model) throw new Error(`${r.apiVersion} ${r.kind} has no schema here`);
      expect(() => new Model(r as never).validate()).not.toThrow();
    }
  });

  it('gives every container the variables its app requires, and none it does not read', () => {
    const seen = new Set<AppName>();
    for (const [owner, container, app] of containers(resources)) {
      seen.add(app);
      const env = resolveEnv(container, resources);
      const where = `${resourceId(owner)} ${container.name}`;
      expect({ where, missing: requiredVariables(app).filter((v) => !env.guaranteed.includes(v)) }).toEqual({
        where,
        missing: [],
      });
      expect({ where, unknown: unknownVariables(app, env.names) }).toEqual({ where, unknown: [] });
      const dupes = env.names.filter((n, i) => env.names.indexOf(n) !== i);
      expect({ where, dupes }).toEqual({ where, dupes: [] });
      const schema = schemaOf(app);
      // The values themselves pass the app's own validation (Secret values from the example file).
      if (schema) expect(() => loadConfig(schema, env.values)).not.toThrow();
    }
    expect([...seen].sort()).toEqual(['api', 'gpu-worker', 'migrate']);
  });

  it('serves the API on API_PORT with /health for liveness and /ready for readiness', () => {
    const api = find(resources, 'Deployment', 'api');
    const [container] = podSpec(api).containers as Obj[];
    const config = loadConfig(schemaOf('api')!, resolveEnv(container, resources).values) as {
      API_PORT: number;
    };
    const portOf = (p: number | string) =>
      typeof p === 'number' ? p : (container.ports as Obj[]).find((x) => x.name === p)?.containerPort;
    expect((container.ports as Obj[]).map((p) => p.containerPort)).toEqual([config.API_PORT]);
    expect(container.livenessProbe.httpGet.path).toBe(LIVENESS_PATH);
    expect(portOf(container.livenessProbe.httpGet.port)).toBe(config.API_PORT);
    expect(container.readinessProbe.httpGet.path).toBe(READINESS_PATH);
    expect(portOf(container.readinessProbe.httpGet.port)).toBe(config.API_PORT);
    expect(container.startupProbe.httpGet.path).toBe(LIVENESS_PATH);

    const service = find(resources, 'Service', 'api');
    expect(matches((service.spec as Obj).selector, podLabels(api))).toBe(true);
    for (const p of (service.spec as Obj).ports as Obj[]) expect(portOf(p.targetPort)).toBe(config.API_PORT);
  });

  it('runs workers without HTTP probes or ports (they have no server)', () => {
    for (const [owner, container, app] of containers(resources)) {
      if (app !== 'gpu-worker') continue;
      expect({ w: resourceId(owner), ports: container.ports }).toEqual({
        w: resourceId(owner),
        ports: undefined,
      });
      for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
        expect(container[probe]?.httpGet ?? container[probe]?.tcpSocket).toBeUndefined();
      }
    }
  });

  it('asks for one GPU per training worker, where the overlay has GPUs', () => {
    const gpu = find(resources, 'Deployment', 'gpu-worker');
    const [container] = podSpec(gpu).containers as Obj[];
    const queues = resolveEnv(container, resources).values.WORKER_QUEUES.split(',');
    expect(queues).toContain(QueueName.Training);
    const { requests, limits } = container.resources as Obj;
    if (target.endsWith('cpu-only')) {
      expect([requests['nvidia.com/gpu'], limits['nvidia.com/gpu']]).toEqual([undefined, undefined]);
    } else {
      expect([requests['nvidia.com/gpu'], limits['nvidia.com/gpu']]).toEqual([1, 1]);
      expect(podSpec(gpu).tolerations).toContainEqual(expect.objectContaining({ key: 'nvidia.com/gpu' }));
    }
    // Nothing else asks for a GPU.
    for (const [owner, c] of containers(resources)) {
      if (owner !== gpu) expect(JSON.stringify(c.resources ?? {})).not.toContain('nvidia.com/gpu');
    }
  });

  it('mounts a writable volume at each worker CACHE_DIR, larger than CACHE_MAX_BYTES', () => {
    const units: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
    const bytes = (q: string) => {
      const [, n, unit] = /^(\d+)(Ki|Mi|Gi|Ti)?$/.exec(q) ?? [];
      return Number(n) * (unit ? units[unit] : 1);
    };
    for (const [owner, c, app] of containers(resources)) {
      if (app !== 'gpu-worker') continue;
      const env = resolveEnv(c, resources).values;
      const mount = (c.volumeMounts as Obj[]).find((m) => env.CACHE_DIR.startsWith(`${m.mountPath}/`));
      const volume = (podSpec(owner).volumes as Obj[]).find((v) => v.name === mount?.name);
      expect(mount?.readOnly).toBeFalsy();
      // The kubelet evicts a pod whose emptyDir outgrows its sizeLimit: the cache bound must stay below.
      expect(bytes(volume?.emptyDir?.sizeLimit)).toBeGreaterThan(Number(env.CACHE_MAX_BYTES));
    }
  });

  it('consumes every queue kind somewhere', () => {
    const consumed = containers(resources)
      .filter(([, , app]) => app === 'gpu-worker')
      .flatMap(([, c]) => resolveEnv(c, resources).values.WORKER_QUEUES.split(','));
    expect([...new Set(consumed)].sort()).toEqual([...QUEUE_KINDS].sort());
  });

  it('scales workers with KEDA on the BullMQ lists of the queues they consume', () => {
    const scaled = byKind(resources, 'ScaledObject');
    expect(scaled.map((s) => (s.spec as Obj).scaleTargetRef.name).sort()).toEqual(['gpu-worker', 'worker']);
    for (const so of scaled) {
      const spec = so.spec as Obj;
      const target = find(resources, 'Deployment', spec.scaleTargetRef.name);
      // KEDA owns the replica count; a `replicas` in the Deployment would fight it on every apply.
      expect((target.spec as Obj).replicas).toBeUndefined();
      const env = resolveEnv((podSpec(target).containers as Obj[])[0], resources).values;
      const queues = env.WORKER_QUEUES.split(',');
      for (const trigger of spec.triggers as Obj[]) {
        expect(trigger.type).toBe('redis');
        const [prefix, queue, list, ...rest] = (trigger.metadata.listName as string).split(':');
        expect({ prefix, rest }).toEqual({ prefix: env.QUEUE_PREFIX, rest: [] });
        expect(queues).toContain(queue);
        expect(Object.values(QueueName)).toContain(queue);
        expect(['wait', 'active']).toContain(list);
        expect(Number(trigger.metadata.listLength)).toBeGreaterThan(0);
        const auth = find(resources, 'TriggerAuthentication', trigger.authenticationRef.name);
        for (const ref of (auth.spec as Obj).secretTargetRef as Obj[]) {
          expect(ref.name).toBe(SECRET_NAME);
          expect(Object.keys(secretExample)).toContain(ref.key);
        }
      }
      const formula = spec.advanced?.scalingModifiers?.formula as string | undefined;
      if (formula) {
        const names = (spec.triggers as Obj[]).map((t) => t.name);
        for (const word of formula.match(/[A-Za-z_]\w*/g) ?? []) expect(names).toContain(word);
      }
    }
    // The GPU workers count running jobs too, so scaling down never takes a GPU from a running job.
    const gpuLists = (find(resources, 'ScaledObject', 'gpu-worker').spec as Obj).triggers.map((t: Obj) =>
      t.metadata.listName.split(':').slice(1).join(':'),
    );
    expect(gpuLists.sort()).toEqual(['training:active', 'training:wait']);
  });

  it('covers every Deployment with a PodDisruptionBudget and selects its own pods', () => {
    for (const d of byKind(resources, 'Deployment')) {
      expect(matches((d.spec as Obj).selector.matchLabels, podLabels(d))).toBe(true);
      const pdbs = byKind(resources, 'PodDisruptionBudget').filter((p) =>
        matches((p.spec as Obj).selector.matchLabels, podLabels(d)),
      );
      expect({ d: d.metadata.name, pdbs: pdbs.length }).toEqual({ d: d.metadata.name, pdbs: 1 });
    }
  });

  it('denies all traffic by default and opens only the API port and the backends', () => {
    const policies = byKind(resources, 'NetworkPolicy').map((p) => p.spec as Obj);
    const deny = policies.find((p) => Object.keys(p.podSelector).length === 0 && !p.ingress && !p.egress);
    expect(deny?.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
    const selecting = (labels: Record<string, string>, type: string) =>
      policies.filter(
        (p) => p.policyTypes.includes(type) && matches(p.podSelector.matchLabels, labels) && p !== deny,
      );

    const api = find(resources, 'Deployment', 'api');
    const ingress = selecting(podLabels(api), 'Ingress').flatMap((p) => p.ingress as Obj[]);
    expect(ingress.flatMap((rule) => rule.ports.map((x: Obj) => x.port))).toEqual(['http']);
    for (const w of [...byKind(resources, 'Deployment'), ...byKind(resources, 'Job')]) {
      if (w !== api) expect(selecting(podLabels(w), 'Ingress')).toEqual([]);
      const ports = selecting(podLabels(w), 'Egress').flatMap((p) =>
        (p.egress as Obj[]).flatMap((rule) => rule.ports.map((x: Obj) => x.port)),
      );
      for (const needed of [53, 5432, 6379])
        expect({ w: w.metadata.name, has: ports.includes(needed) }).toEqual({
          w: w.metadata.name,
          has: true,
        });
    }
  });

  it('runs every container as non-root, without privilege escalation, on a read-only root', () => {
    for (const [owner, c] of containers(resources)) {
      const pod = podSpec(owner);
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(c.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(c.resources.requests.memory).toBeDefined();
      expect(c.resources.limits.memory).toBeDefined();
      if (owner.kind === 'Deployment')
        expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(APP_SHUTDOWN_GRACE_S);
    }
  });

  it('migrates with a one-shot Job that runs the migration image', () => {
    const [job] = byKind(resources, 'Job');
    const pod = podSpec(job);
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.containers.map((c: Obj) => appOf(c.image))).toEqual(['migrate']);
    // The image's own command (prisma migrate deploy) runs: no override.
    expect([pod.containers[0].command, pod.containers[0].args]).toEqual([undefined, undefined]);
  });

  it('keeps secrets out of ConfigMaps and manifests', () => {
    for (const cm of byKind(resources, 'ConfigMap')) {
      for (const key of Object.keys((cm.data ?? {}) as JsonObject))
        expect(Object.keys(secretExample)).not.toContain(key);
    }
    expect(byKind(resources, 'Secret')).toEqual([]);
  });
});

describe('field names', () => {
  const ROOT = join(__dirname, '../..');

  it('are all known to the Kubernetes and KEDA typings, in base and every overlay', () => {
    // One program for all targets: type-checking dominates the cost.
    const all = [...rendered.values()].flat();
    expect(unknownFields(all, ROOT)).toEqual([]);
  });

  it('a misspelt field is reported with the object it belongs to', () => {
    const api = structuredClone(find(rendered.get('base')!, 'Deployment', 'api'));
    (podSpec(api).containers as Obj[])[0].livenesProbe = { httpGet: { path: '/health', port: 'http' } };
    const problems = unknownFields([api], ROOT);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^Deployment\/api: .*'"?livenesProbe"?'/);
  });
});

describe('overlays', () => {
  it('put everything namespaced into their own namespace and pin image versions', () => {
    for (const o of OVERLAYS) {
      const resources = rendered.get(`overlays/${o}`)!;
      const [ns] = byKind(resources, 'Namespace');
      expect(ns).toBeDefined();
      for (const r of resources)
        if (r.kind !== 'Namespace') expect(r.metadata.namespace).toBe(ns.metadata.name);
      if (o === 'production') {
        for (const [, c] of containers(resources))
          expect(c.image).toMatch(/:\d+\.\d+\.\d+$|@sha256:[0-9a-f]{64}$/);
      }
    }
  });
});
