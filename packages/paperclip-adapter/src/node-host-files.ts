import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostFile, HostFiles } from './ports.ts';

/** Upper bound of files read from one skill directory (a runaway directory would not fit a Secret anyway). */
const MAX_FILES_PER_DIRECTORY = 2_000;

/** {@link HostFiles} over the Paperclip server's filesystem (symlinks followed, loops and special files skipped). */
export function createNodeHostFiles(): HostFiles {
  return {
    async readFile(path: string): Promise<Uint8Array> {
      return new Uint8Array(await readFile(path));
    },
    realpath: (path: string) => realpath(path),
    async stat(path: string) {
      const info = await stat(path);
      return { uid: info.uid, gid: info.gid, isDirectory: info.isDirectory() };
    },
    async readDirectory(root: string): Promise<HostFile[]> {
      const files: HostFile[] = [];
      const seen = new Set<string>();
      const walk = async (directory: string, relative: string): Promise<void> => {
        const real = await realpath(directory);
        if (seen.has(real)) return;
        seen.add(real);
        const names = (await readdir(directory)).sort();
        for (const name of names) {
          if (files.length >= MAX_FILES_PER_DIRECTORY)
            throw new Error(`read directory ${root}: more than ${MAX_FILES_PER_DIRECTORY} files`);
          const path = join(directory, name);
          const info = await stat(path);
          const childRelative = relative === '' ? name : `${relative}/${name}`;
          if (info.isDirectory()) await walk(path, childRelative);
          else if (info.isFile()) files.push({ path: childRelative, content: new Uint8Array(await readFile(path)) });
        }
      };
      await walk(root, '');
      return files;
    },
  };
}
