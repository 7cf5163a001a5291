/**
 * The transfer mode for a workspace that is not a git repository (the directory kind). In: the directory as one tar
 * (Paperclip's `createTarballFromDirectory`, with Paperclip's exclude rules: its heavy directories, `.git`, the
 * ignore rules of a git repository the directory lies in, and the transfer's own); in the pod a scratch git repository
 * outside the workspace (in the control directory) commits `base` of what arrived, so the agent sees no `.git`. Back:
 * the pod commits `worktree` and sends the changed paths with their base blob ids and the new blobs
 * ({@link DIRECTORY_EXPORT_SCRIPT}); {@link applyDirectoryChanges} applies them on the server path by path. Both trips
 * read their state from the pod and the server only, so the run that adopts the Job after a restart does them the
 * same way. See docs/decisions/workspace-transfer-mode.md.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GIT_ARCHIVE_EXCLUDES } from '@paperclipai/adapter-utils/git-workspace-sync';
import {
  createTarballFromDirectory,
  mergeExcludes,
  referencedSourceIgnoreExcludeEntries,
  resolveReferencedSourceIgnore,
} from '@paperclipai/adapter-utils/sandbox-managed-runtime';
import { CONFLICTS_DIR } from './apply-directory.ts';
import {
  checked,
  fileStream,
  HEAVY_DIR_EXCLUDES,
  HEAVY_DIR_NAMES,
  LimitError,
  overInLimit,
  send,
  stepTimer,
  WORKSPACE_EXCLUDE,
  type Budget,
  type CopyInStep,
} from './copy-in.ts';
import { DIRECTORY_FINISH_IN_SCRIPT, DIRECTORY_PREPARE_SCRIPT, POD_REF } from './pod-scripts.ts';
import type { PodExec, TransferSettings } from './transfer-session.ts';

/** The transfer's own paths in a directory workspace: Paperclip's runtime files, and where conflicts are kept. */
const OWN_EXCLUDES = ['.paperclip-runtime', '.paperclip-runtime/*', CONFLICTS_DIR.split('/')[0] as string];

/** What the directory kind leaves out, going in and coming back, in the three forms its parts read. */
export interface DirectoryExcludes {
  /** Paperclip's patterns (`shouldExcludePath`): the server refuses such paths from the pod. */
  patterns: string[];
  /** tar's `--exclude` patterns, for the archive that goes in. */
  tar: string[];
  /** gitignore lines, for the pod's scratch repository (what the agent writes there does not come back). */
  gitignore: string;
}

/** A literal path as an anchored gitignore line. */
function gitignoreLiteral(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return `/${trimmed.replace(/[\\*?[]/g, '\\$&').replace(/ $/, '\\ ')}`;
}

/** The excludes of the directory at `hostDir` (Paperclip's rules for a directory workspace, and the transfer's own). */
export async function directoryExcludes(hostDir: string): Promise<DirectoryExcludes> {
  const ignore = await resolveReferencedSourceIgnore(hostDir);
  if (ignore.kind === 'failed')
    throw new Error(
      `the ignore rules of the git repository around ${hostDir} could not be read (${ignore.reason}), so nothing is carried`,
    );
  const ignored = ignore.kind === 'git' ? ignore.ignoredPaths : [];
  const fixed = mergeExcludes(HEAVY_DIR_EXCLUDES, [...GIT_ARCHIVE_EXCLUDES], WORKSPACE_EXCLUDE, OWN_EXCLUDES);
  const lines = [
    ...HEAVY_DIR_NAMES,
    // createTarballFromDirectory leaves macOS sidecar files out.
    '._*',
    ...[...WORKSPACE_EXCLUDE, ...OWN_EXCLUDES].filter((entry) => !entry.endsWith('/*')).map(gitignoreLiteral),
    ...ignored.map(gitignoreLiteral),
  ];
  return {
    patterns: mergeExcludes(fixed, ignored),
    tar: mergeExcludes(fixed, referencedSourceIgnoreExcludeEntries(ignore)),
    gitignore: `${[...new Set(lines)].join('\n')}\n`,
  };
}

/**
 * Brings a directory workspace into the pod and writes the `base` snapshot in the pod's scratch repository; the caller
 * writes `ready`. Throws {@link LimitError} when the archive is larger than `maxInBytes` (nothing is sent then).
 */
export async function copyDirectoryIn(input: {
  settings: TransferSettings;
  exec: PodExec;
  runId: string;
}): Promise<{ bytesIn: number; steps: CopyInStep[] }> {
  const { settings, exec } = input;
  const { steps, step } = stepTimer();
  const excludes = await directoryExcludes(settings.hostDir);
  await checked(
    exec,
    "preparing the pod's workspace",
    ['sh', '-c', DIRECTORY_PREPARE_SCRIPT, 'prepare', settings.podDir, settings.controlDir],
    { stdin: new TextEncoder().encode(excludes.gitignore), timeoutMs: settings.execTimeoutMs },
  );
  step('ignore rules read, scratch repository made');
  const temp = await mkdtemp(join(tmpdir(), 'claude-k8s-directory-'));
  try {
    const archive = join(temp, 'workspace.tar');
    await createTarballFromDirectory({ localDir: settings.hostDir, archivePath: archive, exclude: excludes.tar });
    const size = (await stat(archive)).size;
    step('directory archived');
    if (size > settings.maxInBytes)
      throw new LimitError(overInLimit(settings.maxInBytes, `its archive has ${size} bytes`));
    const budget: Budget = { in: 0, over: null };
    await send(
      exec,
      'the archive of the directory',
      [
        'sh',
        '-c',
        DIRECTORY_FINISH_IN_SCRIPT,
        'finish',
        settings.podDir,
        settings.controlDir,
        POD_REF.base,
        `claude-k8s: the workspace as it arrived (run ${input.runId})`,
      ],
      fileStream(archive),
      budget,
      settings,
    );
    step('directory sent and extracted, base snapshot');
    return { bytesIn: budget.in, steps };
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}
