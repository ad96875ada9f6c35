/**
 * Unknown-field check for Kubernetes objects. The JSON schemas of kubernetes-models accept unknown
 * keys (as the API server does unless told to be strict), so a misspelt `livenesProbe` would pass
 * them silently. TypeScript's excess-property check on object literals catches exactly that: each
 * object is written as a literal typed with its model's interface and type-checked in memory.
 */
import { dirname, join } from 'node:path';
import ts from 'typescript';
import type { Resource } from './kustomize';

/** Interface module and name per apiVersion/kind (the typings kubernetes-models ships). */
const TYPINGS: Record<string, [string, string]> = {
  'apps/v1/Deployment': ['kubernetes-models/apps/v1/Deployment', 'IDeployment'],
  'batch/v1/Job': ['kubernetes-models/batch/v1/Job', 'IJob'],
  'v1/ConfigMap': ['kubernetes-models/v1/ConfigMap', 'IConfigMap'],
  'v1/Namespace': ['kubernetes-models/v1/Namespace', 'INamespace'],
  'v1/Service': ['kubernetes-models/v1/Service', 'IService'],
  'v1/ServiceAccount': ['kubernetes-models/v1/ServiceAccount', 'IServiceAccount'],
  'networking.k8s.io/v1/NetworkPolicy': [
    'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
    'INetworkPolicy',
  ],
  'policy/v1/PodDisruptionBudget': [
    'kubernetes-models/policy/v1/PodDisruptionBudget',
    'IPodDisruptionBudget',
  ],
  'keda.sh/v1alpha1/ScaledObject': ['@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject', 'IScaledObject'],
  'keda.sh/v1alpha1/TriggerAuthentication': [
    '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication',
    'ITriggerAuthentication',
  ],
};

/**
 * Paths (`kind/name: path`) that the typings do not know yet but the targeted platform does; they
 * are removed before the check. KEDA >= 2.12's scalingModifiers and trigger names postdate the
 * KEDA typings on npm (0.4.2).
 */
export const NEWER_THAN_TYPINGS: Record<string, string[][]> = {
  ScaledObject: [['spec', 'advanced', 'scalingModifiers']],
};

function without(r: Resource): Resource {
  const copy = structuredClone(r);
  for (const path of NEWER_THAN_TYPINGS[r.kind] ?? []) {
    let node: Record<string, unknown> | undefined = copy;
    for (const key of path.slice(0, -1)) node = node?.[key] as Record<string, unknown> | undefined;
    if (node) delete node[path[path.length - 1]];
  }
  return copy;
}

/**
 * Type-checks `resources` against the Kubernetes typings; returns one message per unknown or
 * mistyped field (empty when all are known), naming the object it belongs to.
 */
export function unknownFields(resources: Resource[], root: string): string[] {
  const imports: string[] = [];
  const lines: string[] = [];
  const owners: string[] = [];
  resources.forEach((r, i) => {
    const typing = TYPINGS[`${r.apiVersion}/${r.kind}`];
    if (!typing) throw new Error(`no typings for ${r.apiVersion} ${r.kind}`);
    imports.push(`import type { ${typing[1]} as T${i} } from '${typing[0]}';`);
    owners.push(`${r.kind}/${r.metadata.name}`);
    lines.push(`export const r${i}: T${i} = ${JSON.stringify(without(r), null, 1)};`);
  });
  const fileName = join(root, '__manifests__.ts');
  const text = [...imports, ...lines].join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    types: [],
    lib: ['lib.es2022.d.ts'],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version, onError) =>
    name === fileName ? ts.createSourceFile(name, text, version) : getSourceFile(name, version, onError);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === fileName || fileExists(name);
  host.getDefaultLibLocation = () => dirname(require.resolve('typescript/lib/lib.d.ts'));
  const program = ts.createProgram([fileName], options, host);
  const source = program.getSourceFile(fileName)!;
  const starts = lines.map((_, i) => text.indexOf(`export const r${i}:`));
  return ts.getPreEmitDiagnostics(program, source).map((d) => {
    const owner = owners[starts.filter((s) => s <= (d.start ?? 0)).length - 1] ?? '?';
    return `${owner}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  });
}
