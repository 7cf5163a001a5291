/**
 * The files of the per-run Secret that claude reads (prompt, instructions, MCP config, skills), and the size check
 * of all the run's files against what one Secret can hold.
 */
import type { RunFile } from './launch-request.ts';
import type { InvocationFailure } from './invocation-failure.ts';
import { RUN_FILE } from './pod-layout.ts';

/** A Secret holds at most 1 MiB; keep a margin for keys and metadata. Bytes. */
export const MAX_RUN_FILES_BYTES = 900 * 1024;

/** Size of a file's content in bytes (UTF-8 for text). */
export function byteLength(content: string | Uint8Array): number {
  return typeof content === 'string' ? Buffer.byteLength(content, 'utf8') : content.byteLength;
}

/** The files claude reads, and which of the optional ones the run ships. */
export interface RunFiles {
  files: RunFile[];
  shipped: { instructions: boolean; mcpConfig: boolean; skills: boolean };
  notes: string[];
}

/** Input of {@link buildRunFiles}. */
export interface RunFilesInput {
  promptText: string;
  instructions: string | null;
  mcpConfig: Record<string, unknown> | null;
  skillFiles: readonly RunFile[];
  /** The sibling files of the instructions (shipped on every run: the agent may read them at any time). */
  instructionFiles?: readonly RunFile[];
  /** A resumed session already has its instructions; they are not shipped again. */
  resumed: boolean;
}

/** Lays out the files claude reads: the prompt always; instructions on a fresh session; the MCP config (sensitive: it holds tokens); the skill files. */
export function buildRunFiles(input: RunFilesInput): RunFiles {
  const files: RunFile[] = [
    { key: RUN_FILE.prompt, path: RUN_FILE.prompt, content: input.promptText, sensitive: false },
  ];
  const instructions = input.instructions !== null && !input.resumed;
  if (instructions && input.instructions !== null)
    files.push({
      key: RUN_FILE.instructions,
      path: RUN_FILE.instructions,
      content: input.instructions,
      sensitive: false,
    });
  if (input.mcpConfig !== null)
    files.push({
      key: RUN_FILE.mcpConfig,
      path: RUN_FILE.mcpConfig,
      content: `${JSON.stringify(input.mcpConfig, null, 2)}\n`,
      sensitive: true,
    });
  files.push(...(input.instructionFiles ?? []), ...input.skillFiles);
  return {
    files,
    shipped: { instructions, mcpConfig: input.mcpConfig !== null, skills: input.skillFiles.length > 0 },
    notes: [],
  };
}

/** Fails when all the run's files together exceed {@link MAX_RUN_FILES_BYTES}; `null` when they fit. */
export function checkRunFilesSize(files: readonly RunFile[]): InvocationFailure | null {
  const total = files.reduce((sum, file) => sum + byteLength(file.content), 0);
  if (total <= MAX_RUN_FILES_BYTES) return null;
  const prompt = files.find((file) => file.key === RUN_FILE.prompt);
  const skillFiles = files.filter((file) => file.key.startsWith('skill-')).length;
  return {
    success: false,
    code: 'adapter_files_too_large',
    message: `the run's files take ${total} bytes (prompt ${prompt === undefined ? 0 : byteLength(prompt.content)}, ${skillFiles} skill files), more than the ${MAX_RUN_FILES_BYTES} a Secret can hold`,
  };
}
