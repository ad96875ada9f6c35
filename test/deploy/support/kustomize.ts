/**
 * A small kustomize: the subset of `kustomize build` that infra/ uses (resources, namespace, labels,
 * images, replicas, strategic-merge patches), so the tests can render every overlay without a
 * kustomize binary. It refuses any other kustomization field rather than ignore it, and the tests
 * compare its output with the real kustomize's, committed in infra/rendered/ (infra/render.sh).
 */
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** A Kubernetes object as rendered: apiVersion, kind, metadata.name always present. */
export interface Resource extends JsonObject {
  apiVersion: string;
  kind: string;
  metadata: JsonObject & { name: string; namespace?: string; labels?: Record<string, string> };
}

export class KustomizeError extends Error {
  readonly code = 'kustomize-unsupported';
  constructor(message: string) {
    super(message);
    this.name = 'KustomizeError';
  }
}

const SUPPORTED = new Set([
  'apiVersion',
  'kind',
  'resources',
  'namespace',
  'labels',
  'images',
  'replicas',
  'patches',
]);
// Kinds without a namespace among those infra/ uses; kustomize leaves these alone.
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'ClusterTriggerAuthentication',
]);
// Where kustomize's image transformer and replica transformer look.
const POD_SPEC_PATHS: Record<string, string[]> = {
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

/** Parses every YAML document of a file (empty documents skipped); throws on YAML errors. */
export function readYamlDocuments(path: string): Json[] {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'));
  const out: Json[] = [];
  for (const doc of docs) {
    if (doc.errors.length) throw new Error(`${path}: ${doc.errors[0].message}`);
    const value = doc.toJS() as Json;
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asResource(v: Json, where: string): Resource {
  if (
    !isObject(v) ||
    typeof v.apiVersion !== 'string' ||
    typeof v.kind !== 'string' ||
    !isObject(v.metadata) ||
    typeof v.metadata.name !== 'string'
  ) {
    throw new KustomizeError(`${where}: not a Kubernetes object (apiVersion, kind, metadata.name)`);
  }
  return v as Resource;
}

/** Identity of a resource as kustomize matches patches: group-less kind and name. */
export function resourceId(r: Resource): string {
  return `${r.kind}/${r.metadata.name}`;
}

/**
 * Strategic merge as kustomize applies it to the objects infra/ patches: maps merge recursively, a
 * null value deletes the key, lists of objects that all have `name` merge by name, other lists are
 * replaced.
 */
export function strategicMerge(target: Json, patch: Json): Json {
  if (isObject(target) && isObject(patch)) {
    const out: JsonObject = { ...target };
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete out[key];
      else out[key] = key in target ? strategicMerge(target[key], value) : value;
    }
    return out;
  }
  if (
    Array.isArray(target) &&
    Array.isArray(patch) &&
    [...target, ...patch].every((x) => isObject(x) && typeof x.name === 'string')
  ) {
    const out = target.map((x) => x as JsonObject);
    for (const item of patch as JsonObject[]) {
      const i = out.findIndex((x) => x.name === item.name);
      if (i >= 0) out[i] = strategicMerge(out[i], item) as JsonObject;
      else out.push(item);
    }
    return out;
  }
  return patch;
}

function podSpecOf(r: Resource): JsonObject | undefined {
  const path = POD_SPEC_PATHS[r.kind];
  if (!path) return undefined;
  let node: Json = r;
  for (const key of path) {
    if (!isObject(node)) return undefined;
    node = node[key];
  }
  return isObject(node) ? node : undefined;
}

/** Splits an image reference into name and tag/digest (registry ports are not tags). */
function splitImage(image: string): { name: string; suffix: string } {
  const at = image.indexOf('@');
  if (at >= 0) return { name: image.slice(0, at), suffix: image.slice(at) };
  const colon = image.lastIndexOf(':');
  if (colon > image.lastIndexOf('/')) return { name: image.slice(0, colon), suffix: image.slice(colon) };
  return { name: image, suffix: '' };
}

function applyImages(resources: Resource[], images: JsonObject[]): void {
  for (const r of resources) {
    const spec = podSpecOf(r);
    if (!spec) continue;
    for (const list of ['initContainers', 'containers'] as const) {
      const containers = spec[list];
      if (!Array.isArray(containers)) continue;
      for (const c of containers) {
        if (!isObject(c) || typeof c.image !== 'string') continue;
        const { name, suffix } = splitImage(c.image);
        const rule = images.find((i) => i.name === name);
        if (!rule) continue;
        const newName = typeof rule.newName === 'string' ? rule.newName : name;
        const newSuffix =
          typeof rule.digest === 'string'
            ? `@${rule.digest}`
            : typeof rule.newTag === 'string'
              ? `:${rule.newTag}`
              : suffix;
        c.image = newName + newSuffix;
      }
    }
  }
}

/** Renders the kustomization in `dir` (a folder with kustomization.yaml) into a list of objects. */
export function kustomize(dir: string): Resource[] {
  const root = resolve(dir);
  const [k] = readYamlDocuments(join(root, 'kustomization.yaml'));
  if (!isObject(k)) throw new KustomizeError(`${root}: empty kustomization`);
  const unknown = Object.keys(k).filter((key) => !SUPPORTED.has(key));
  if (unknown.length)
    throw new KustomizeError(`${root}: unsupported kustomization fields: ${unknown.join(', ')}`);

  let resources: Resource[] = [];
  for (const entry of (k.resources ?? []) as string[]) {
    const path = resolve(root, entry);
    if (statSync(path).isDirectory()) resources.push(...kustomize(path));
    else resources.push(...readYamlDocuments(path).map((d) => asResource(d, path)));
  }
  const ids = resources.map(resourceId);
  const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
  if (duplicate) throw new KustomizeError(`${root}: ${duplicate} defined twice`);

  for (const p of (k.patches ?? []) as JsonObject[]) {
    if (typeof p.path !== 'string' || Object.keys(p).length !== 1)
      throw new KustomizeError(`${root}: only \`patches: - path: file\` is supported`);
    for (const doc of readYamlDocuments(resolve(root, p.path))) {
      const patch = asResource(doc, p.path);
      const i = resources.findIndex((r) => resourceId(r) === resourceId(patch));
      if (i < 0) throw new KustomizeError(`${root}/${p.path}: no resource ${resourceId(patch)} to patch`);
      resources[i] = strategicMerge(resources[i], patch) as Resource;
    }
  }

  for (const rule of (k.replicas ?? []) as JsonObject[]) {
    const r = resources.find(
      (x) => x.metadata.name === rule.name && isObject(x.spec) && x.kind in POD_SPEC_PATHS,
    );
    if (!r) throw new KustomizeError(`${root}: replicas for unknown workload ${String(rule.name)}`);
    (r.spec as JsonObject).replicas = rule.count as number;
  }
  applyImages(resources, (k.images ?? []) as JsonObject[]);

  for (const set of (k.labels ?? []) as JsonObject[]) {
    if (set.includeSelectors !== false || set.includeTemplates)
      throw new KustomizeError(`${root}: only labels with includeSelectors: false are supported`);
    for (const r of resources)
      r.metadata.labels = { ...(r.metadata.labels ?? {}), ...(set.pairs as Record<string, string>) };
  }
  if (typeof k.namespace === 'string') {
    const ns = k.namespace;
    resources = resources.map((r) =>
      CLUSTER_SCOPED.has(r.kind) ? r : { ...r, metadata: { ...r.metadata, namespace: ns } },
    );
  }
  return resources;
}
