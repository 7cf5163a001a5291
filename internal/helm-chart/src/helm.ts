/**
 * Helm and the chart, for the chart's tests: the pinned Helm 4 binary (built by scripts/ensure-helm.sh), `helm lint`
 * and `helm template` of deploy/helm/claude-k8s with a value set, and the rendered objects parsed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const repoRoot = resolve(import.meta.dirname, '..', '..', '..');
export const chartDir = join(repoRoot, 'deploy', 'helm', 'claude-k8s');

/** The documented value sets: the files of the chart's examples/ folder. */
export const valueSets = [
  'default',
  'agents-only-existing-namespace',
  'with-paperclip',
  'network-gateway-and-git',
] as const;
export type ValueSet = (typeof valueSets)[number];
export const valueSetFile = (set: ValueSet): string => join(chartDir, 'examples', `${set}.yaml`);

/** A rendered Kubernetes object (only the fields the tests read are typed). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** The path of the pinned Helm binary; builds it from the Go module proxy the first time (minutes). */
export function ensureHelm(): string {
  const out = execFileSync(join(repoRoot, 'scripts', 'ensure-helm.sh'), {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const path = out.trim().split('\n').at(-1);
  if (!path) throw new Error('scripts/ensure-helm.sh printed no path');
  return path;
}

export interface HelmResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs helm with `args`; never throws on a non-zero exit (the tests look at failures too). */
export function runHelm(helm: string, args: string[]): HelmResult {
  const r = spawnSync(helm, args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export interface RenderOptions {
  namespace: string;
  /** Value files, in order. */
  valueFiles?: string[];
  /** `--set-json key=json` pairs. */
  setJson?: Record<string, unknown>;
  release?: string;
}

function renderArgs(options: RenderOptions): string[] {
  const args = ['--namespace', options.namespace];
  for (const f of options.valueFiles ?? []) args.push('--values', f);
  for (const [k, v] of Object.entries(options.setJson ?? {})) args.push('--set-json', `${k}=${JSON.stringify(v)}`);
  return args;
}

/** `helm template`; the raw result (for expected failures). */
export function templateRaw(helm: string, options: RenderOptions): HelmResult {
  return runHelm(helm, ['template', options.release ?? 'claude-k8s', chartDir, ...renderArgs(options)]);
}

/** `helm template`, parsed into objects; throws with helm's message when rendering fails. */
export function template(helm: string, options: RenderOptions): KubeObject[] {
  const r = templateRaw(helm, options);
  if (r.status !== 0) throw new Error(`helm template failed (exit ${r.status}): ${r.stderr}`);
  return parseObjects(r.stdout);
}

/** Every non-empty YAML document of `text` (a multi-document manifest stream). */
function parseObjects(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
      return doc.toJS() as KubeObject | null;
    })
    .filter((o): o is KubeObject => o !== null);
}

/** `helm lint --strict` with the value files and namespace. */
export function lint(helm: string, options: RenderOptions): HelmResult {
  return runHelm(helm, ['lint', '--strict', chartDir, ...renderArgs(options)]);
}

/** The objects of one of the loose manifests in deploy/ (e.g. `rbac.yaml`). */
export function deployManifest(file: string): KubeObject[] {
  return parseObjects(readFileSync(join(repoRoot, 'deploy', file), 'utf8'));
}

/** The one object of `kind` (and `name`, when given) in `objects`; throws naming what is there otherwise. */
export function one(objects: KubeObject[], kind: string, name?: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) {
    const present = objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ');
    throw new Error(`expected one ${kind}${name ? `/${name}` : ''}, found ${found.length} among: ${present}`);
  }
  return found[0] as KubeObject;
}
