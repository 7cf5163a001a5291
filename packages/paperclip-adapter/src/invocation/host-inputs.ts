/**
 * The IO step of the invocation: everything a run needs from the Paperclip server's filesystem, read through the
 * {@link HostFiles} port into plain data. Read failures are data too; the pure steps decide what they mean.
 */
import type { HostFile, HostFiles } from '../ports.ts';
import type { ShippableSkill } from '../runtime-skills.ts';
import { errorMessage } from '../error-message.ts';
import { readWorkspaceHost, type WorkspaceHostInputs } from './workspace.ts';

/** The result of one read: the value, or the reason it could not be read. */
export type HostRead<T> = { ok: true; value: T } | { ok: false; error: string };

/** What the run needs from the Paperclip host. */
export interface HostInputs {
  /** The instructions file (`instructionsFilePath`) as UTF-8 text; `null` when none is configured. */
  instructions: { path: string; read: HostRead<string> } | null;
  /** Every file of the instructions file's directory (its bundle: HEARTBEAT.md, SOUL.md, TOOLS.md …); `null` without instructions. */
  instructionsDirectory?: HostRead<HostFile[]> | null;
  /** Each skill the run ships, with every file of its source directory. */
  skills: { skill: ShippableSkill; read: HostRead<HostFile[]> }[];
  /** The run's Paperclip workspace on the server (`null`: none, or not read: no workspace volume is configured). */
  workspace?: WorkspaceHostInputs | null;
}

/** What {@link readHostInputs} reads. */
export interface HostInputsRequest {
  instructionsFilePath: string | undefined;
  skills: readonly ShippableSkill[];
  /** The run's context, when its workspace is to be read (only with a shared workspace volume). */
  workspaceContext?: Record<string, unknown>;
}

async function attempt<T>(read: () => Promise<T>): Promise<HostRead<T>> {
  try {
    return { ok: true, value: await read() };
  } catch (error) {
    return { ok: false, error: errorMessage(error) };
  }
}

/** Reads the instructions file and each skill directory (in order, one at a time). Never rejects. */
export async function readHostInputs(hostFiles: HostFiles, request: HostInputsRequest): Promise<HostInputs> {
  const path = request.instructionsFilePath;
  const instructions =
    path === undefined
      ? null
      : { path, read: await attempt(async () => new TextDecoder().decode(await hostFiles.readFile(path))) };
  const directory = path === undefined ? null : path.slice(0, Math.max(path.lastIndexOf('/'), 0)) || '/';
  const instructionsDirectory = directory === null ? null : await attempt(() => hostFiles.readDirectory(directory));
  const skills: HostInputs['skills'] = [];
  for (const skill of request.skills)
    skills.push({ skill, read: await attempt(() => hostFiles.readDirectory(skill.source)) });
  const workspace =
    request.workspaceContext === undefined ? null : await readWorkspaceHost(hostFiles, request.workspaceContext);
  return { instructions, instructionsDirectory, skills, workspace };
}
