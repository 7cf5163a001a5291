/**
 * The container env of a run: the adapter's own variables, the Paperclip variables, the API key reference and the
 * config's `env` (plain values moved into the per-run Secret, references kept). Secrets are only ever references.
 */
import type { AdapterConfig } from '../config-schema.ts';
import type { RunEnvVar } from '@claude-k8s/kube-runtime';
import type { RunFile } from './launch-request.ts';

/** Server-host-only variables Paperclip injects into `config.env`; meaningless in a pod, so dropped. */
const HOST_ONLY_ENV = new Set([
  'TMPDIR',
  'TEMP',
  'TMP',
  'PAPERCLIP_RUN_SCRATCH_DIR',
  'PAPERCLIP_SCRATCH_DIR',
  'GH_CONFIG_DIR',
  'HOME',
  'PATH',
]);
const HOST_ONLY_ENV_PREFIXES = ['PAPERCLIP_RUNNER_NETWORK_'];

/** The container env and the per-run files holding the config's plain values. */
export interface ContainerEnv {
  env: RunEnvVar[];
  files: RunFile[];
  notes: string[];
}

/** Input of {@link buildContainerEnv}. */
export interface ContainerEnvInput {
  config: Pick<AdapterConfig, 'anthropicBaseUrl' | 'anthropicApiKeySecret' | 'env'>;
  /** HOME in the pod. */
  homePath: string;
  /** The Paperclip variables ({@link buildPaperclipEnv}); the config cannot override them. */
  paperclipEnv: readonly RunEnvVar[];
}

/**
 * Builds the env in order: HOME and the CLI's switches, the Paperclip variables, `ANTHROPIC_API_KEY` from its Secret,
 * then the config's `env` without host-only paths and names already set (which a note lists).
 */
export function buildContainerEnv(input: ContainerEnvInput): ContainerEnv {
  const { config } = input;
  const env: RunEnvVar[] = [
    { name: 'HOME', value: input.homePath },
    { name: 'CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC', value: '1' },
    { name: 'DISABLE_AUTOUPDATER', value: '1' },
  ];
  if (config.anthropicBaseUrl !== undefined) env.push({ name: 'ANTHROPIC_BASE_URL', value: config.anthropicBaseUrl });
  env.push(...input.paperclipEnv);
  if (config.anthropicApiKeySecret.name !== undefined)
    env.push({
      name: 'ANTHROPIC_API_KEY',
      secretKeyRef: { name: config.anthropicApiKeySecret.name, key: config.anthropicApiKeySecret.key },
    });
  const taken = new Set([...env.map((entry) => entry.name), 'PAPERCLIP_API_KEY']);
  const files: RunFile[] = [];
  const dropped: string[] = [];
  for (const [name, value] of Object.entries(config.env)) {
    if (
      HOST_ONLY_ENV.has(name) ||
      HOST_ONLY_ENV_PREFIXES.some((prefix) => name.startsWith(prefix)) ||
      taken.has(name)
    ) {
      dropped.push(name);
      continue;
    }
    if ('value' in value) {
      const key = `env-${name}`;
      files.push({ key, path: null, content: value.value, sensitive: true });
      env.push({ name, fileKey: key });
    } else if ('secretKeyRef' in value) {
      env.push({ name, secretKeyRef: value.secretKeyRef });
    } else {
      env.push({ name, configMapKeyRef: value.configMapKeyRef });
    }
  }
  const notes =
    dropped.length === 0
      ? []
      : [
          `env not passed to the pod (set by the adapter, or paths of the Paperclip host): ${dropped.sort().join(', ')}`,
        ];
  return { env, files, notes };
}
