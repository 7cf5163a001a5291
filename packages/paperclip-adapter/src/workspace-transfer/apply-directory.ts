/**
 * The host side of the way back for a workspace that is not a git repository (the directory kind). The pod sends
 * ({@link DIRECTORY_EXPORT_SCRIPT}) the paths changed between its `base` snapshot (what arrived) and its `worktree`
 * snapshot (what the agent left), each with its base blob id and mode and its new ones, and the new contents as git
 * blobs. Under Paperclip's `withDirectoryMergeLock`, each path is:
 *
 * - applied (written with its mode, made a symlink, or deleted) where the server's entry is still what the pod received
 *   (its git blob id, `sha1("blob <size>\0" + bytes)`, and mode; or absent on both sides);
 * - left alone where the server already has the agent's version;
 * - a conflict otherwise: the server's entry stays, and the agent's version is kept under
 *   `<workspace>/.claude-k8s/conflicts/<runId>/<path>` (a directory the transfer itself never carries).
 *
 * Everything the pod says is untrusted: a path is refused (and named) when it is absolute, has an empty, `.`, `..` or
 * `.git` component, is one the transfer excludes, or has a mode git does not give files; a blob must hash to its id.
 * Writing never follows a symlink: every parent is checked with `lstat` to be a real directory inside the workspace
 * (`walkParents`, which the git kind's apply checks too), new content is written to a fresh file
 * (`O_EXCL | O_NOFOLLOW`) beside the target and renamed over it, a deletion unlinks. Reading the server's entry opens with `O_NOFOLLOW | O_NONBLOCK` and hashes regular files only: a device,
 * fifo, socket or directory where a file was is a conflict, never read.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, readlink, rename, rmdir, symlink, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { shouldExcludePath } from '@paperclipai/adapter-utils/exclude-patterns';
import { withDirectoryMergeLock } from '@paperclipai/adapter-utils/workspace-restore-merge';
import { pathSyntaxProblem, walkParents } from './confine.ts';

/** Where a run's conflicting versions are kept, relative to the workspace (excluded from every transfer). */
export const CONFLICTS_DIR = '.claude-k8s/conflicts';

/** A path's entry on one side: git mode and blob id; `null` = absent. */
export type DirectoryEntry = { mode: string; oid: string } | null;

/** One changed path, as the pod names it. */
export interface DirectoryChange {
  path: string;
  base: DirectoryEntry;
  wanted: DirectoryEntry;
}

/** What {@link applyDirectoryChanges} did. */
export interface AppliedDirectoryChanges {
  /** Paths written or deleted in the server's workspace. */
  applied: string[];
  /** Paths the server changed during the run as well: left as they are on the server. */
  conflicts: string[];
  /** Where the agent's versions of the conflicting paths are kept (relative to the workspace); `null` without any. */
  keptIn: string | null;
  /** Paths the pod named that were not applied, each with the reason (`path: reason`). */
  refused: string[];
}

const FILE_MODES = new Set(['100644', '100755', '120000']);
const ZERO_OID = '0'.repeat(40);

/** The git blob id of `bytes` (sha1 object format). */
export function blobId(bytes: Uint8Array): string {
  return createHash('sha1').update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex');
}

/** Why the pod's `path` cannot be applied (`null`: it can). */
export function refusePodPath(path: string, exclude: readonly string[]): string | null {
  return pathSyntaxProblem(path) ?? (shouldExcludePath(path, [...exclude]) ? 'a path the transfer excludes' : null);
}

function entryOf(mode: string, oid: string): DirectoryEntry | 'bad' {
  if (mode === '000000') return oid === ZERO_OID ? null : 'bad';
  if (!FILE_MODES.has(mode) || !/^[0-9a-f]{40}$/.test(oid) || oid === ZERO_OID) return 'bad';
  return { mode, oid };
}

/**
 * Parses the raw diff (`git diff-tree -r -z --raw`: `:<old mode> <new mode> <old id> <new id> <status>\0<path>\0`).
 * Records of modes git gives no file (a nested repository's gitlink) come back in `refused`.
 */
export function parseRawDiff(raw: Uint8Array): { changes: DirectoryChange[]; refused: string[] } {
  const fields: Uint8Array[] = [];
  for (let start = 0; start < raw.byteLength;) {
    const end = raw.indexOf(0, start);
    fields.push(raw.subarray(start, end < 0 ? raw.byteLength : end));
    start = end < 0 ? raw.byteLength : end + 1;
  }
  const changes: DirectoryChange[] = [];
  const refused: string[] = [];
  for (let at = 0; at < fields.length; at += 2) {
    const head = new TextDecoder().decode(fields[at]);
    const pathBytes = fields[at + 1];
    if (pathBytes === undefined)
      throw new Error(`the pod's list of changes is malformed near ${JSON.stringify(head.slice(0, 80))}`);
    let path: string;
    try {
      path = new TextDecoder('utf-8', { fatal: true }).decode(pathBytes);
    } catch {
      refused.push(`${JSON.stringify(new TextDecoder().decode(pathBytes))}: a path that is not UTF-8 (not carried)`);
      continue;
    }
    const match = /^:(\d{6}) (\d{6}) ([0-9a-f]{40}) ([0-9a-f]{40}) [A-Z]\d*$/.exec(head);
    if (match === null)
      throw new Error(`the pod's list of changes is malformed near ${JSON.stringify(head.slice(0, 80))}`);
    const base = entryOf(match[1] as string, match[3] as string);
    const wanted = entryOf(match[2] as string, match[4] as string);
    if (base === 'bad' || wanted === 'bad') {
      refused.push(
        `${JSON.stringify(path)}: ${match[2] === '160000' || match[1] === '160000' ? 'a nested git repository (not carried)' : `mode ${match[2] as string} is not a file's`}`,
      );
      continue;
    }
    changes.push({ path, base, wanted });
  }
  return { changes, refused };
}

/** The pod's stream, read back from the file the collection wrote: the raw diff, and where each blob lies. */
interface ChangesFile {
  raw: Uint8Array;
  blobs: Map<string, { offset: number; size: number }>;
}

async function readLine(handle: FileHandle, offset: number): Promise<string> {
  const buffer = Buffer.alloc(128);
  const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
  const end = buffer.subarray(0, bytesRead).indexOf(0x0a);
  if (end < 0) throw new Error('the pod sent a truncated or malformed stream of changes');
  return buffer.subarray(0, end).toString('utf8');
}

async function indexChanges(handle: FileHandle): Promise<ChangesFile> {
  const total = (await handle.stat()).size;
  const sizeLine = await readLine(handle, 0);
  if (!/^\d+$/.test(sizeLine.trim())) throw new Error('the pod sent a malformed stream of changes');
  const rawSize = Number(sizeLine.trim());
  let offset = sizeLine.length + 1;
  if (offset + rawSize > total) throw new Error('the pod sent a truncated stream of changes');
  const raw = Buffer.alloc(rawSize);
  await handle.read(raw, 0, rawSize, offset);
  offset += rawSize;
  const blobs = new Map<string, { offset: number; size: number }>();
  while (offset < total) {
    const line = await readLine(handle, offset);
    offset += line.length + 1;
    const match = /^([0-9a-f]{40}) blob (\d+)$/.exec(line);
    if (match === null) continue; // `<id> missing` (nothing to read) or a type that is no file's: never applied
    const size = Number(match[2]);
    if (offset + size + 1 > total) throw new Error('the pod sent a truncated blob');
    blobs.set(match[1] as string, { offset, size });
    offset += size + 1;
  }
  return { raw, blobs };
}

/** The content of blob `oid` from the stream, checked against its id. */
async function blobContent(handle: FileHandle, file: ChangesFile, oid: string): Promise<Buffer | null> {
  const at = file.blobs.get(oid);
  if (at === undefined) return null;
  const bytes = Buffer.alloc(at.size);
  await handle.read(bytes, 0, at.size, at.offset);
  return blobId(bytes) === oid ? bytes : null;
}

function missing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

/** The server's entry at `parts` as git would record it; `other` for what is no file (never read). */
async function serverEntry(root: string, parts: readonly string[]): Promise<DirectoryEntry | 'other'> {
  const parent = await walkParents(root, parts, false);
  if ('absent' in parent) return null;
  if ('blocked' in parent) return 'other';
  const full = join(parent.dir, parts[parts.length - 1] as string);
  const info = await lstat(full).catch((error: unknown) => {
    if (missing(error)) return null;
    throw error;
  });
  if (info === null) return null;
  if (info.isSymbolicLink()) return { mode: '120000', oid: blobId(await readlink(full, { encoding: 'buffer' })) };
  if (!info.isFile()) return 'other';
  const handle = await open(full, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return 'other';
    const hash = createHash('sha1').update(`blob ${stat.size}\0`);
    const buffer = Buffer.alloc(256 * 1024);
    let read = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, read);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      read += bytesRead;
    }
    if (read !== stat.size) return 'other'; // changing while read: not what the pod received
    return { mode: (stat.mode & 0o100) !== 0 ? '100755' : '100644', oid: hash.digest('hex') };
  } finally {
    await handle.close();
  }
}

function same(left: DirectoryEntry | 'other', right: DirectoryEntry): boolean {
  if (left === 'other') return false;
  if (left === null || right === null) return left === right;
  return left.mode === right.mode && left.oid === right.oid;
}

/** Writes (or with `content` `null` deletes) the entry at `parts` without following any symlink. */
async function writeSafely(
  root: string,
  parts: readonly string[],
  entry: { mode: string; content: Buffer } | null,
): Promise<void> {
  const parent = await walkParents(root, parts, entry !== null);
  if ('absent' in parent) return;
  if ('blocked' in parent) throw new Error('a parent directory is not a directory on the server');
  const name = parts[parts.length - 1] as string;
  const full = join(parent.dir, name);
  const existing = await lstat(full).catch((error: unknown) => {
    if (missing(error)) return null;
    throw error;
  });
  if (existing?.isDirectory()) throw new Error('it is a directory on the server');
  if (entry === null) {
    if (existing !== null) await unlink(full);
    // Directories the deletion emptied go too (the pod has none there).
    for (let depth = parts.length - 1; depth > 0; depth -= 1) {
      const removed = await rmdir(join(root, ...parts.slice(0, depth))).then(
        () => true,
        () => false,
      );
      if (!removed) break;
    }
    return;
  }
  const temp = join(parent.dir, `.${name.slice(0, 100)}.ck8s-${randomBytes(6).toString('hex')}`);
  try {
    if (entry.mode === '120000') {
      if (entry.content.includes(0)) throw new Error('a symlink target with a NUL byte');
      await symlink(entry.content, temp);
    } else {
      const mode = entry.mode === '100755' ? 0o755 : 0o644;
      const handle = await open(
        temp,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        mode,
      );
      try {
        await handle.writeFile(entry.content);
        await handle.chmod(mode);
      } finally {
        await handle.close();
      }
    }
    await rename(temp, full);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

/** A run id as one path component. */
function runDirName(runId: string): string {
  const name = runId.replace(/[^A-Za-z0-9._-]/g, '_');
  return /^\.*$/.test(name) ? `_${name}` : name;
}

/** Input of {@link applyDirectoryChanges}. */
export interface ApplyDirectoryInput {
  /** The workspace on the server (its real path). */
  dir: string;
  runId: string;
  /** The file holding the pod's stream ({@link DIRECTORY_EXPORT_SCRIPT}). */
  changesPath: string;
  /** The transfer's exclude patterns (Paperclip's form): such paths are never applied. */
  exclude: readonly string[];
}

/** Applies the pod's changes to the server's directory; see the module comment. */
export async function applyDirectoryChanges(input: ApplyDirectoryInput): Promise<AppliedDirectoryChanges> {
  const handle = await open(input.changesPath, 'r');
  try {
    const file = await indexChanges(handle);
    const parsed = parseRawDiff(file.raw);
    const refused = [...parsed.refused];
    const changes = parsed.changes.filter((change) => {
      const reason = refusePodPath(change.path, input.exclude);
      if (reason !== null) refused.push(`${JSON.stringify(change.path)}: ${reason}`);
      return reason === null;
    });
    // Deletions first: a directory the agent replaced by a file (or the other way round) is free when written.
    changes.sort((left, right) => Number(left.wanted !== null) - Number(right.wanted !== null));
    return await withDirectoryMergeLock(input.dir, async () => {
      const applied: string[] = [];
      const conflicts: string[] = [];
      const keptRoot = [...CONFLICTS_DIR.split('/'), runDirName(input.runId)];
      for (const change of changes) {
        const parts = change.path.split('/');
        const content = change.wanted === null ? null : await blobContent(handle, file, change.wanted.oid);
        if (change.wanted !== null && content === null) {
          refused.push(
            `${JSON.stringify(change.path)}: its content is missing from the pod's stream or does not match its id`,
          );
          continue;
        }
        const wanted = change.wanted === null || content === null ? null : { mode: change.wanted.mode, content };
        const current = await serverEntry(input.dir, parts);
        if (same(current, change.wanted)) continue;
        if (same(current, change.base)) {
          try {
            await writeSafely(input.dir, parts, wanted);
            applied.push(change.path);
            continue;
          } catch (error) {
            refused.push(`${JSON.stringify(change.path)}: ${error instanceof Error ? error.message : String(error)}`);
            continue;
          }
        }
        conflicts.push(change.path);
        if (wanted !== null)
          await writeSafely(input.dir, [...keptRoot, ...parts], wanted).catch((error: unknown) => {
            refused.push(
              `${JSON.stringify(change.path)}: the agent's version could not be kept: ${error instanceof Error ? error.message : String(error)}`,
            );
          });
      }
      const kept = conflicts.some((path) => changes.find((change) => change.path === path)?.wanted !== null);
      return { applied, conflicts, keptIn: kept ? keptRoot.join('/') : null, refused };
    });
  } finally {
    await handle.close();
  }
}
