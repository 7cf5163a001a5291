/**
 * Skills for Paperclip's skills panel. Mode `ephemeral`: nothing is installed anywhere; each run ships the desired
 * skills' files from the Paperclip server into the pod (per-run Secret, `--add-dir`), so "sync" only records the
 * desired set.
 */
import type { AdapterSkillContext, AdapterSkillEntry, AdapterSkillSnapshot } from '@paperclipai/adapter-utils';
import { FILES_MOUNT_PATH } from './build-invocation.ts';
import { isRecord } from './schema-builder.ts';

function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

function readDesired(config: Record<string, unknown>): string[] | null {
  const sync = isRecord(config['paperclipSkillSync']) ? config['paperclipSkillSync'] : null;
  if (sync === null || !Array.isArray(sync['desiredSkills'])) return null;
  return sync['desiredSkills'].filter((item): item is string => typeof item === 'string');
}

/** Builds the snapshot from the server-provided skill list and a desired set (`null` = every available skill). */
export function buildSkillSnapshot(
  config: Record<string, unknown>,
  desiredInput: readonly string[] | null,
): AdapterSkillSnapshot {
  const runtime = Array.isArray(config['paperclipRuntimeSkills'])
    ? config['paperclipRuntimeSkills'].filter(isRecord)
    : [];
  const warnings: string[] = [];
  const entries: AdapterSkillEntry[] = [];
  const available = new Set<string>();
  for (const skill of runtime) {
    const key = text(skill['key']);
    if (key === null) continue;
    available.add(key);
    const runtimeName = text(skill['runtimeName']) ?? key;
    const desired = desiredInput === null || desiredInput.includes(key);
    const missing = skill['sourceStatus'] === 'missing';
    const entry: AdapterSkillEntry = {
      key,
      runtimeName,
      versionId: text(skill['versionId']),
      currentVersionId: text(skill['currentVersionId']),
      desired,
      managed: true,
      state: missing ? 'missing' : desired ? 'configured' : 'available',
      origin: 'company_managed',
      originLabel: 'Paperclip',
      locationLabel: 'shipped into each run pod',
      readOnly: true,
      sourcePath: text(skill['source']),
      targetPath: `${FILES_MOUNT_PATH}/skills/.claude/skills/${runtimeName}`,
      detail: missing ? (text(skill['missingDetail']) ?? 'source missing on the Paperclip server') : null,
    };
    if (missing && desired) warnings.push(`skill ${key}: its source is missing on the Paperclip server; runs skip it`);
    entries.push(entry);
  }
  const desiredSkills = desiredInput === null ? [...available] : [...desiredInput];
  for (const key of desiredSkills) {
    if (available.has(key)) continue;
    warnings.push(`skill ${key} is desired but Paperclip offers no files for it`);
    entries.push({
      key,
      runtimeName: null,
      desired: true,
      managed: true,
      state: 'missing',
      origin: 'company_managed',
      detail: 'not in the runtime skill list',
    });
  }
  return { adapterType: 'claude_k8s', supported: true, mode: 'ephemeral', desiredSkills, entries, warnings };
}

/** `listSkills` of the adapter module. */
export function listSkills(context: AdapterSkillContext): Promise<AdapterSkillSnapshot> {
  return Promise.resolve(buildSkillSnapshot(context.config, readDesired(context.config)));
}

/** `syncSkills` of the adapter module: nothing to install (ephemeral); reports the snapshot for the desired set. */
export function syncSkills(context: AdapterSkillContext, desiredSkills: string[]): Promise<AdapterSkillSnapshot> {
  return Promise.resolve(buildSkillSnapshot(context.config, desiredSkills));
}
