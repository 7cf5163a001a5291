/**
 * The prompt bundle of a run: the instructions text and the skill files read from the host, as per-run files, and
 * the key that identifies them (a stored session is resumed only while the key is unchanged).
 */
import type { RunFile } from './launch-request.ts';
import { compareText } from '../runtime-skills.ts';
import { sha256 } from './hash.ts';
import type { HostInputs } from './host-inputs.ts';
import type { InvocationFailure } from './invocation-failure.ts';
import { RUN_FILE, runFilePath, skillDirectory } from './pod-layout.ts';

/** Instructions and skill files of a run. */
export interface PromptBundle {
  success: true;
  /** The instructions text followed by {@link instructionsPathDirective}; `null` when none is configured or readable. */
  instructions: string | null;
  /**
   * The sibling files of the instructions file: the top-level `.md` files of its directory except itself, keyed
   * `instructions-<index>`, at `instructions/<name>` (the directory the path directive names).
   */
  instructionFiles: RunFile[];
  /** Every skill file, keyed `skill-<skill index>-<file index>`, at `skills/.claude/skills/<runtime name>/<path>`. */
  skillFiles: RunFile[];
  /** Hash of the instructions and of every skill file's path and content (32 hex digits); `null` when both are absent. */
  key: string | null;
  notes: string[];
}

/** Removes empty, `.` and `..` segments, so a file can never leave its skill's directory. */
function confine(path: string): string {
  return path
    .split('/')
    .filter((segment) => segment !== '' && segment !== '.' && segment !== '..')
    .join('/');
}

/**
 * The paragraph appended to the instructions (as claude_local appends one): where the file is in the pod and that its
 * directory is the base for the relative references it makes (`./HEARTBEAT.md`, `./SOUL.md`, `./TOOLS.md`).
 */
export function instructionsPathDirective(podPath: string, directory: string): string {
  return (
    `\nThese agent instructions are the file ${podPath}. ` +
    `Resolve the relative file references they make from ${directory}; ` +
    `that directory, not the parent agent directory, holds sibling instruction files such as ./HEARTBEAT.md, ./SOUL.md and ./TOOLS.md.`
  );
}

/**
 * Builds the prompt bundle. An unreadable instructions file is a warning note and the run goes on without it (as in
 * claude_local); an unreadable skill directory fails the run.
 */
export function buildPromptBundle(host: HostInputs): PromptBundle | InvocationFailure {
  let instructions: string | null = null;
  const notes: string[] = [];
  if (host.instructions !== null) {
    const { path, read } = host.instructions;
    if (read.ok)
      instructions =
        read.value +
        instructionsPathDirective(runFilePath(RUN_FILE.instructions), `${runFilePath(RUN_FILE.instructionsDir)}/`);
    else
      notes.push(
        `Warning: could not read agent instructions file "${path}": ${read.error}; the run has no instructions.`,
      );
  }
  const parts: (string | Uint8Array)[] = ['instructions', instructions ?? ''];
  const instructionFiles: RunFile[] = [];
  if (
    instructions !== null &&
    host.instructions !== null &&
    host.instructionsDirectory !== null &&
    host.instructionsDirectory !== undefined
  ) {
    const entryName = host.instructions.path.slice(host.instructions.path.lastIndexOf('/') + 1);
    if (!host.instructionsDirectory.ok)
      notes.push(
        `Warning: could not read the instructions directory of "${host.instructions.path}": ${host.instructionsDirectory.error}; its sibling files are not shipped.`,
      );
    else {
      const siblings = host.instructionsDirectory.value
        .filter((file) => !file.path.includes('/') && file.path.endsWith('.md') && file.path !== entryName)
        .sort((a, b) => compareText(a.path, b.path));
      for (const [index, file] of siblings.entries()) {
        instructionFiles.push({
          key: `instructions-${index}`,
          path: `${RUN_FILE.instructionsDir}/${file.path}`,
          content: file.content,
          sensitive: false,
        });
        parts.push(`instructions/${file.path}`, sha256(file.content));
      }
    }
  }
  const skillFiles: RunFile[] = [];
  for (const [skillIndex, { skill, read }] of host.skills.entries()) {
    if (!read.ok)
      return {
        success: false,
        code: 'adapter_host_file_unreadable',
        message: `read skill ${skill.key} at ${skill.source}: ${read.error}`,
      };
    const sorted = [...read.value].sort((a, b) => compareText(a.path, b.path));
    for (const [fileIndex, entry] of sorted.entries()) {
      const relative = confine(entry.path);
      if (relative === '') continue;
      skillFiles.push({
        key: `skill-${skillIndex}-${fileIndex}`,
        path: `${skillDirectory(skill.runtimeName)}/${relative}`,
        content: entry.content,
        sensitive: false,
      });
      parts.push(`${skill.runtimeName}/${relative}`, sha256(entry.content));
    }
  }
  const key = instructions === null && host.skills.length === 0 ? null : sha256(...parts).slice(0, 32);
  return { success: true, instructions, instructionFiles, skillFiles, key, notes };
}
