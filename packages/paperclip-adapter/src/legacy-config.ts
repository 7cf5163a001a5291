/**
 * Accepts the configuration shapes this adapter inherits: the flat dotted keys Paperclip's schema form stores
 * (`"resources.limits.memory": "4Gi"`), and the keys of the predecessor `paperclip-adapter-claude-k8s` (same adapter
 * type `claude_k8s`), each mapped to the current key with a warning. The README's migration table lists them.
 */
import { isRecord, isUnset } from './raw-values.ts';

/** A predecessor key and what became of it. */
export interface LegacyKeyMapping {
  /** The predecessor's key. */
  key: string;
  /** The current key it maps to, or `null` when it no longer applies. */
  mapsTo: string | null;
  /** What happens to its value. */
  note: string;
}

/** Every predecessor key that is not a current key, for the README and the tests. */
export const LEGACY_KEY_MAPPINGS: readonly LegacyKeyMapping[] = [
  {
    key: 'retainJobs',
    mapsTo: 'retention.onSuccess, retention.onFailure',
    note: 'true → both keep; false → the defaults (delete succeeded, keep failed)',
  },
  { key: 'reattachOrphanedJobs', mapsTo: 'lockPolicy', note: 'true → adopt; false → reject' },
  {
    key: 'workspaceVolumeClaim',
    mapsTo: 'sessionVolume.claimName',
    note: 'same claim; it now holds HOME (Claude sessions) and the default working directory',
  },
  { key: 'workspaceMountPath', mapsTo: 'sessionVolume.mountAs', note: 'the mount path, which also becomes HOME' },
  {
    key: 'secretRef',
    mapsTo: 'anthropicApiKeySecret.name',
    note: 'the Secret is now actually used: its ANTHROPIC_API_KEY key is given to claude by reference',
  },
  { key: 'args', mapsTo: 'extraArgs', note: 'same list' },
  {
    key: 'enableDocker',
    mapsTo: null,
    note: 'ignored: there is no privileged Docker-in-Docker sidecar; add a sidecar through podSpecPatch if you must',
  },
  { key: 'dockerImage', mapsTo: null, note: 'ignored: there is no Docker sidecar' },
  { key: 'dockerCpuLimit', mapsTo: null, note: 'ignored: there is no Docker sidecar' },
  { key: 'dockerMemoryLimit', mapsTo: null, note: 'ignored: there is no Docker sidecar' },
  {
    key: 'secretsNamespace',
    mapsTo: null,
    note: 'ignored: it was never used; Secrets are read from the Job namespace',
  },
  {
    key: 'providers',
    mapsTo: null,
    note: 'ignored: providers.anthropic.accounts (ccrotate account pools) is not supported; use anthropicApiKeySecret',
  },
  { key: 'enableRtk', mapsTo: null, note: 'ignored: it was removed in the predecessor 0.2.0' },
  { key: 'rtkMaxOutputBytes', mapsTo: null, note: 'ignored: it was removed in the predecessor 0.2.0' },
  { key: 'command', mapsTo: null, note: 'ignored: the image provides claude' },
  { key: 'engine', mapsTo: null, note: 'ignored: this adapter always runs the CLI with stream-json output' },
  { key: 'chrome', mapsTo: null, note: 'ignored: no browser in the pod' },
];

/** The input with flat dotted keys folded into objects and predecessor keys mapped, plus one warning per mapped key. */
export interface NormalizedConfig {
  config: Record<string, unknown>;
  warnings: string[];
}

function setPath(target: Record<string, unknown>, segments: readonly string[], value: unknown): void {
  let cursor = target;
  for (const segment of segments.slice(0, -1)) {
    const next = cursor[segment];
    if (isRecord(next)) {
      const copy = { ...next };
      cursor[segment] = copy;
      cursor = copy;
    } else {
      const created: Record<string, unknown> = {};
      cursor[segment] = created;
      cursor = created;
    }
  }
  const last = segments.at(-1);
  if (last !== undefined) cursor[last] = value;
}

function getPath(source: Record<string, unknown>, segments: readonly string[]): unknown {
  let cursor: unknown = source;
  for (const segment of segments) {
    if (!isRecord(cursor)) return undefined;
    cursor = cursor[segment];
  }
  return cursor;
}

/** Folds flat dotted keys and maps predecessor keys. Never fails; the schema validates the result. */
export function normalizeLegacyConfig(input: Record<string, unknown>): NormalizedConfig {
  const warnings: string[] = [];
  const config: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) if (!key.includes('.')) config[key] = value;
  for (const [key, value] of Object.entries(input)) {
    if (!key.includes('.') || isUnset(value)) continue;
    const segments = key.split('.');
    const nested = getPath(config, segments);
    if (!isUnset(nested) && JSON.stringify(nested) !== JSON.stringify(value)) {
      warnings.push(`${key}: set both as a flat key and nested; the flat key (the form's value) wins`);
    }
    setPath(config, segments, value);
  }

  const take = (key: string): unknown => {
    const value = config[key];
    delete config[key];
    return value;
  };
  const mapped = (key: string, target: string, value: unknown): void => {
    const segments = target.split('.');
    if (isUnset(getPath(config, segments))) {
      setPath(config, segments, value);
      warnings.push(`${key}: deprecated predecessor setting, mapped to ${target}`);
    } else {
      warnings.push(`${key}: deprecated predecessor setting, ignored because ${target} is set`);
    }
  };

  for (const mapping of LEGACY_KEY_MAPPINGS) {
    if (!(mapping.key in config)) continue;
    const value = take(mapping.key);
    if (isUnset(value)) continue;
    switch (mapping.key) {
      case 'retainJobs': {
        const retain = value === true || value === 'true';
        if (retain) {
          mapped(mapping.key, 'retention.onSuccess', 'keep');
          mapped(mapping.key, 'retention.onFailure', 'keep');
        } else {
          warnings.push(
            `${mapping.key}: deprecated predecessor setting; false is the default retention policy (retention.*)`,
          );
        }
        break;
      }
      case 'reattachOrphanedJobs':
        mapped(mapping.key, 'lockPolicy', value === false || value === 'false' ? 'reject' : 'adopt');
        break;
      case 'workspaceVolumeClaim':
        mapped(mapping.key, 'sessionVolume.claimName', value);
        break;
      case 'workspaceMountPath':
        mapped(mapping.key, 'sessionVolume.mountAs', value);
        break;
      case 'secretRef':
        mapped(mapping.key, 'anthropicApiKeySecret.name', value);
        break;
      case 'args':
        mapped(mapping.key, 'extraArgs', value);
        break;
      default:
        warnings.push(`${mapping.key}: no longer supported, ${mapping.note}`);
    }
  }
  return { config, warnings };
}
