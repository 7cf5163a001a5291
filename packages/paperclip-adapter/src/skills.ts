/**
 * Skills for Paperclip's skills panel. Mode `ephemeral`: nothing is installed anywhere; each run ships the desired
 * skills' files from the Paperclip server into the pod (per-run Secret, `--add-dir`), so "sync" only records the
 * desired set. The panel reads the same parsed runtime skill list as the run ({@link parseRuntimeSkills}).
 */
import type { AdapterSkillContext, AdapterSkillEntry, AdapterSkillSnapshot } from '@paperclipai/adapter-utils';
import { parseRuntimeSkills, skillTargetPath, type RuntimeSkillList } from './runtime-skills.ts';

/** Builds the snapshot from the server-provided skill list and a desired set (`null` = every available skill). */
export function buildSkillSnapshot(
  config: Record<string, unknown>,
  desiredInput: readonly string[] | null,
): AdapterSkillSnapshot {
  return snapshotOf(parseRuntimeSkills(config), desiredInput);
}

function snapshotOf(list: RuntimeSkillList, desiredSet: readonly string[] | null): AdapterSkillSnapshot {
  const warnings: string[] = [...list.problems];
  const entries: AdapterSkillEntry[] = [];
  const available = new Set<string>();
  for (const skill of list.skills) {
    available.add(skill.key);
    const desired = desiredSet === null || desiredSet.includes(skill.key);
    const missing = skill.unavailable !== null;
    entries.push({
      key: skill.key,
      runtimeName: skill.runtimeName,
      versionId: skill.versionId,
      currentVersionId: skill.currentVersionId,
      desired,
      managed: true,
      state: missing ? 'missing' : desired ? 'configured' : 'available',
      origin: 'company_managed',
      originLabel: 'Paperclip',
      locationLabel: 'shipped into each run pod',
      readOnly: true,
      sourcePath: skill.source,
      targetPath: skill.runtimeName === null ? null : skillTargetPath(skill.runtimeName),
      detail: skill.unavailableDetail,
    });
    if (missing && desired) warnings.push(`skill ${skill.key}: ${skill.unavailable}; runs skip it`);
  }
  const desiredSkills = desiredSet === null ? [...available] : [...desiredSet];
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
  const list = parseRuntimeSkills(context.config);
  return Promise.resolve(snapshotOf(list, list.desired));
}

/** `syncSkills` of the adapter module: nothing to install (ephemeral); reports the snapshot for the desired set. */
export function syncSkills(context: AdapterSkillContext, desiredSkills: string[]): Promise<AdapterSkillSnapshot> {
  return Promise.resolve(buildSkillSnapshot(context.config, desiredSkills));
}
