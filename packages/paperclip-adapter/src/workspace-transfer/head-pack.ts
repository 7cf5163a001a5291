/**
 * The objects of one commit (the commit, every tree, every blob: a depth-1 history) as one git pack, built here instead
 * of by `git pack-objects`. A blob's bytes are read from the workspace's own file when that file hashes to the blob's id
 * (the common case: a tracked file without changes), else from git (`git cat-file --batch`: changed files, files git
 * converts on checkout, symlinks that differ). The check is the object id itself, so the pack holds exactly HEAD's
 * objects either way.
 *
 * Why: for a repository whose objects are loose (a tree just committed), `git pack-objects` inflates and deflates
 * every object, one `mmap` each — on a busy two-core machine 4–6 s for 100 MB in 10,000 files, more than the whole
 * copy of the same bytes by `kubectl cp`. Reading the files costs a fraction of that; content that would not shrink
 * (by a byte-entropy sample) is stored, not deflated. See docs/decisions/workspace-transfer-mode.md.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readlinkSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deflate, deflateSync } from 'node:zlib';

const deflateAsync = promisify(deflate);

/** Pack object types. */
const TYPE = { commit: 1, tree: 2, blob: 3 } as const;

/** A file larger than this is taken from git (one buffer less: no read of a file that may not match). */
const MAX_FILE_READ = 64 * 1024 * 1024;

async function gitOutput(hostDir: string, args: readonly string[]): Promise<Buffer> {
  const child = spawn('git', ['-C', hostDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => (err = (err + chunk.toString('utf8')).slice(-4000)));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`git ${args[0]} failed on the server (exit ${code}): ${err.trim()}`);
  return Buffer.concat(out);
}

/** Reads exact byte counts and lines from a stream. */
class ByteReader {
  private chunks: Buffer[] = [];
  private length = 0;
  private readonly source: AsyncIterator<Buffer>;
  constructor(source: AsyncIterable<Buffer>) {
    this.source = source[Symbol.asyncIterator]();
  }

  private async more(): Promise<void> {
    const next = await this.source.next();
    if (next.done === true) throw new Error('git cat-file ended early');
    this.chunks.push(next.value);
    this.length += next.value.byteLength;
  }

  private take(count: number): Buffer {
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    const rest = all.subarray(count);
    this.chunks = rest.byteLength > 0 ? [rest] : [];
    this.length = rest.byteLength;
    return all.subarray(0, count);
  }

  async line(): Promise<string> {
    for (;;) {
      const at = this.chunks.findIndex((chunk) => chunk.includes(10));
      if (at >= 0) {
        const before = this.chunks.slice(0, at).reduce((sum, chunk) => sum + chunk.byteLength, 0);
        const line = this.take(before + (this.chunks[at] as Buffer).indexOf(10) + 1);
        return line.subarray(0, line.byteLength - 1).toString('utf8');
      }
      await this.more();
    }
  }

  async bytes(count: number): Promise<Buffer> {
    while (this.length < count) await this.more();
    return Buffer.from(this.take(count));
  }
}

/** One `git cat-file --batch`, asked one object at a time. */
class CatFile {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly reader: ByteReader;
  private stderr = '';
  constructor(hostDir: string) {
    this.child = spawn('git', ['-C', hostDir, 'cat-file', '--batch'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on(
      'data',
      (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString('utf8')).slice(-4000)),
    );
    this.child.stdin.on('error', () => undefined);
    this.reader = new ByteReader(this.child.stdout);
  }

  async read(id: string): Promise<{ type: string; data: Buffer }> {
    this.child.stdin.write(`${id}\n`);
    const header = await this.reader.line().catch((error: unknown) => {
      throw new Error(`reading ${id} from git failed on the server: ${this.stderr.trim() || String(error)}`);
    });
    const [found, type, size] = header.split(' ');
    if (found !== id || type === undefined || type === 'missing' || size === undefined)
      throw new Error(`the object ${id} of HEAD is not in the server's repository (${header})`);
    const data = await this.reader.bytes(Number(size));
    await this.reader.bytes(1);
    return { type, data };
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}

/** Adler-32 (the zlib stream's checksum). */
function adler32(data: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let index = 0; index < data.byteLength;) {
    const end = Math.min(index + 5552, data.byteLength);
    for (; index < end; index += 1) {
      a += data[index] as number;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** A zlib stream of `data` in stored (uncompressed) blocks: no compression work for bytes that would not shrink. */
function storedZlib(data: Uint8Array): Buffer[] {
  const parts: Buffer[] = [Buffer.from([0x78, 0x01])];
  let offset = 0;
  do {
    const length = Math.min(0xffff, data.byteLength - offset);
    const block = Buffer.alloc(5);
    block[0] = offset + length >= data.byteLength ? 1 : 0;
    block.writeUInt16LE(length, 1);
    block.writeUInt16LE(~length & 0xffff, 3);
    parts.push(block, Buffer.from(data.buffer, data.byteOffset + offset, length));
    offset += length;
  } while (offset < data.byteLength);
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32BE(adler32(data));
  parts.push(trailer);
  return parts;
}

/** How many first bytes of a blob say whether deflating it pays. */
const SAMPLE_BYTES = 4096;

/**
 * Whether deflating `data` is worth it: small, or its first {@link SAMPLE_BYTES} have less than 7.5 bits of entropy
 * per byte (random or already-compressed content has about 8: it would not shrink).
 */
function compressible(data: Uint8Array): boolean {
  if (data.byteLength <= SAMPLE_BYTES) return true;
  const counts = new Uint32Array(256);
  for (let index = 0; index < SAMPLE_BYTES; index += 1)
    counts[data[index] as number] = (counts[data[index] as number] as number) + 1;
  let bits = 0;
  for (const count of counts) if (count > 0) bits -= (count / SAMPLE_BYTES) * Math.log2(count / SAMPLE_BYTES);
  return bits < 7.5;
}

/** Deflates level 1; a window no larger than the data (less to set up per object), in the thread pool when large. */
async function deflated(data: Uint8Array): Promise<Buffer> {
  const windowBits = Math.max(9, Math.min(15, Math.ceil(Math.log2(data.byteLength + 1))));
  const options = { level: 1, windowBits };
  return data.byteLength < 256 * 1024 ? deflateSync(data, options) : deflateAsync(data, options);
}

/**
 * A pack entry: the type-and-size header, then the zlib stream of the object's bytes — deflated (level 1, in the
 * thread pool) when that shrinks them, else stored as they are (incompressible content costs no deflating here and
 * almost no inflating in the pod).
 */
async function packEntry(type: number, data: Uint8Array): Promise<Buffer> {
  const header: number[] = [];
  let size = data.byteLength;
  let byte = (type << 4) | (size & 0x0f);
  size = Math.floor(size / 16);
  while (size > 0) {
    header.push(byte | 0x80);
    byte = size & 0x7f;
    size = Math.floor(size / 128);
  }
  header.push(byte);
  const body = compressible(data) ? [await deflated(data)] : storedZlib(data);
  return Buffer.concat([Buffer.from(header), ...body]);
}

/** The object id of a blob, in the repository's hash (`sha1` for 40 hex digits, `sha256` for 64). */
function blobId(algorithm: string, data: Uint8Array): string {
  return createHash(algorithm).update(`blob ${data.byteLength}\0`).update(data).digest('hex');
}

/** A regular file's bytes (not following a symlink, not blocking on a FIFO); null when it is none or too large. */
function readRegularFile(file: string): Buffer | null {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.size > MAX_FILE_READ) return null;
    const data = Buffer.allocUnsafe(stat.size);
    let filled = 0;
    while (filled < data.byteLength) {
      const read = readSync(fd, data, filled, data.byteLength - filled, filled);
      if (read === 0) break;
      filled += read;
    }
    return data.subarray(0, filled);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/**
 * The blob's bytes from the workspace's file, when it is the blob (same id); else null. Synchronous: one small file at
 * a time costs less so than through the thread pool, and the pack's consumer gets a turn of the event loop between.
 */
function fromWorkingTree(
  hostDir: string,
  entry: { path: string; mode: string; id: string },
  algorithm: string,
): Buffer | null {
  const file = join(hostDir, entry.path);
  let data: Buffer | null;
  if (entry.mode === '120000') {
    try {
      data = readlinkSync(file, { encoding: 'buffer' });
    } catch {
      data = null;
    }
  } else data = readRegularFile(file);
  return data !== null && blobId(algorithm, data) === entry.id ? data : null;
}

/** What the pack of a commit holds: its root tree, the trees and blobs below (first path of each blob). */
async function objectsOf(
  hostDir: string,
  commit: string,
): Promise<{ trees: string[]; blobs: { id: string; path: string; mode: string }[] }> {
  const [root, listing] = await Promise.all([
    gitOutput(hostDir, ['rev-parse', '--verify', `${commit}^{tree}`]),
    gitOutput(hostDir, ['ls-tree', '-r', '-t', '-z', '--full-tree', commit]),
  ]);
  const trees = new Set([root.toString('utf8').trim()]);
  const blobs = new Map<string, { id: string; path: string; mode: string }>();
  for (const record of listing.toString('utf8').split('\0')) {
    if (record === '') continue;
    const tab = record.indexOf('\t');
    const [mode, type, id] = record.slice(0, tab).split(' ');
    if (mode === undefined || id === undefined) continue;
    // `commit` entries are submodules: their objects live in another repository.
    if (type === 'tree') trees.add(id);
    else if (type === 'blob' && !blobs.has(id)) blobs.set(id, { id, path: record.slice(tab + 1), mode });
  }
  return { trees: [...trees], blobs: [...blobs.values()] };
}

/**
 * The pack of `commit` (its objects only, no history before it) for `git index-pack --stdin`. Reads the workspace's
 * files where they are the blobs; git (`cat-file`) gives the rest.
 */
export async function* headPack(hostDir: string, commit: string): AsyncGenerator<Uint8Array> {
  const algorithm = commit.length === 64 ? 'sha256' : 'sha1';
  const { trees, blobs } = await objectsOf(hostDir, commit);
  const checksum = createHash(algorithm);
  const emit = (bytes: Buffer): Buffer => {
    checksum.update(bytes);
    return bytes;
  };
  const header = Buffer.alloc(12);
  header.write('PACK', 0, 'latin1');
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(1 + trees.length + blobs.length, 8);
  yield emit(header);
  const git = new CatFile(hostDir);
  try {
    for (const id of [commit, ...trees]) {
      const object = await git.read(id);
      yield emit(await packEntry(object.type === 'commit' ? TYPE.commit : TYPE.tree, object.data));
    }
    const fromGit: string[] = [];
    for (const blob of blobs) {
      const data = fromWorkingTree(hostDir, blob, algorithm);
      if (data === null) fromGit.push(blob.id);
      else yield emit(await packEntry(TYPE.blob, data));
    }
    for (const id of fromGit) yield emit(await packEntry(TYPE.blob, (await git.read(id)).data));
  } finally {
    git.close();
  }
  yield checksum.digest();
}
