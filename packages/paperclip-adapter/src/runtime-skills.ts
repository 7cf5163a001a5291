/**
 * Paperclip's runtime skill list (`config.paperclipRuntimeSkills`, the desired set in
 * `config.paperclipSkillSync.desiredSkills`), parsed once with one normalisation. The skills panel (`skills.ts`) and
 * the run (`invocation/`) both read these entries, so the directory the panel shows is the one the run's files land
 * in, and a skill the run cannot ship shows as missing in the panel.
 */
import { resolveLegacyPaperclipDesiredSkillNames } from '@paperclipai/adapter-utils/server-utils';
import { runFilePath, skillDirectory } from './invocation/pod-layout.ts';
import { isRecord, readText } from './raw-values.ts';

/** One entry of Paperclip's runtime skill list. */
export interface RuntimeSkill {
  /** Paperclip's skill key, e.g. `paperclipai/paperclip/paperclip`. */
  key: string;
  /**
   * The skill's directory name in the pod: Paperclip's `runtimeName` (else the key) with every character outside
   * `[A-Za-z0-9._-]` replaced by `-` and leading `.`/`-` removed; `null` when nothing usable remains.
   */
  runtimeName: string | null;
  /** Directory of the skill's files on the Paperclip server; `null` when the entry names none. */
  source: string | null;
  versionId: string | null;
  currentVersionId: string | null;
  /** Why a run cannot ship this skill (a sentence for notes and warnings); `null` when it can. */
  unavailable: string | null;
  /** Short text for the skills panel when {@link RuntimeSkill.unavailable} is set. */
  unavailableDetail: string | null;
}

/** A skill a run ships: available, with its directory name and source. */
export interface ShippableSkill {
  key: string;
  runtimeName: string;
  source: string;
}

/** Paperclip's runtime skill list and desired set, normalised. */
export interface RuntimeSkillList {
  /** Entries in Paperclip's order. */
  skills: RuntimeSkill[];
  /** Desired skill keys (`paperclipSkillSync.desiredSkills`: strings or `{key}` objects); `null` = none stored (every skill). */
  desired: string[] | null;
  /**
   * The keys a run ships, resolved as claude_local resolves them (adapter-utils'
   * `resolveLegacyPaperclipDesiredSkillNames`): the desired references canonicalised against the list, none without an
   * explicit preference, and Paperclip's operational skill (`paperclipai/paperclip/paperclip`) always first when listed.
   * `null` when no desired set is stored: the run then ships every skill (our default, a superset of claude_local's).
   */
  runDesired: string[] | null;
  /** Entries that could not be read at all (no key), one sentence each. */
  problems: string[];
}

/** The absolute directory of a skill's files in the claude container (what the skills panel shows). */
export function skillTargetPath(runtimeName: string): string {
  return runFilePath(skillDirectory(runtimeName));
}

function toDirectoryName(name: string): string | null {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[.-]+/, '');
  return safe === '' ? null : safe;
}

function parseDesired(config: Record<string, unknown>): string[] | null {
  const sync = isRecord(config['paperclipSkillSync']) ? config['paperclipSkillSync'] : null;
  if (sync === null || !Array.isArray(sync['desiredSkills'])) return null;
  const keys = sync['desiredSkills'].flatMap((item: unknown) => {
    const key = isRecord(item) ? readText(item['key']) : readText(item);
    return key === null ? [] : [key];
  });
  return [...new Set(keys)];
}

/** Parses Paperclip's runtime skill list and desired set from an agent's config (anything malformed is named in `problems`). */
export function parseRuntimeSkills(config: Record<string, unknown>): RuntimeSkillList {
  const raw = config['paperclipRuntimeSkills'];
  const problems: string[] = [];
  if (raw !== undefined && raw !== null && !Array.isArray(raw))
    problems.push('paperclipRuntimeSkills: expected a list; no skill is shipped');
  const skills: RuntimeSkill[] = [];
  const owners = new Map<string, string>();
  for (const [index, entry] of (Array.isArray(raw) ? raw : []).entries()) {
    const key = isRecord(entry) ? readText(entry['key']) : null;
    if (!isRecord(entry) || key === null) {
      problems.push(`paperclipRuntimeSkills.${index}: expected an entry with a key; ignored`);
      continue;
    }
    const runtimeName = toDirectoryName(readText(entry['runtimeName']) ?? key);
    const source = readText(entry['source']);
    const missingDetail = readText(entry['missingDetail']);
    let unavailable: string | null = null;
    let unavailableDetail: string | null = null;
    if (entry['sourceStatus'] === 'missing') {
      unavailable = `its source is missing on the Paperclip server${missingDetail === null ? '' : ` (${missingDetail})`}`;
      unavailableDetail = missingDetail ?? 'source missing on the Paperclip server';
    } else if (source === null) {
      unavailable = unavailableDetail = 'the runtime skill list gives no source directory';
    } else if (runtimeName === null) {
      unavailable = unavailableDetail = 'its runtime name has no letter, digit, ".", "_" or "-" to name a directory';
    } else if (owners.has(runtimeName)) {
      unavailable =
        unavailableDetail = `its directory ${runtimeName} is already taken by skill ${owners.get(runtimeName)}`;
    }
    if (unavailable === null && runtimeName !== null) owners.set(runtimeName, key);
    skills.push({
      key,
      runtimeName,
      source,
      versionId: readText(entry['versionId']),
      currentVersionId: readText(entry['currentVersionId']),
      unavailable,
      unavailableDetail,
    });
  }
  const entries = skills.flatMap((skill) =>
    skill.runtimeName === null || skill.source === null
      ? []
      : [{ key: skill.key, runtimeName: skill.runtimeName, source: skill.source }],
  );
  const desired = parseDesired(config);
  const runDesired = desired === null ? null : resolveLegacyPaperclipDesiredSkillNames(config, entries);
  return { skills, desired, runDesired, problems };
}

/** Code-unit order: deterministic across locales (file order feeds the prompt bundle hash). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The skills a run ships, sorted by directory name, and a note for each desired skill it cannot ship. */
export interface RunSkillSelection {
  skills: ShippableSkill[];
  notes: string[];
}

/** Selects the shippable skills of a run among {@link RuntimeSkillList.runDesired} (claude_local's resolution). */
export function selectRunSkills(list: RuntimeSkillList): RunSkillSelection {
  const notes = [...list.problems];
  const skills: ShippableSkill[] = [];
  for (const skill of list.skills) {
    if (list.runDesired !== null && !list.runDesired.includes(skill.key)) continue;
    if (skill.unavailable !== null || skill.runtimeName === null || skill.source === null) {
      notes.push(`skill ${skill.key} skipped: ${skill.unavailable ?? 'not shippable'}`);
      continue;
    }
    skills.push({ key: skill.key, runtimeName: skill.runtimeName, source: skill.source });
  }
  return { skills: skills.sort((a, b) => compareText(a.runtimeName, b.runtimeName)), notes };
}
