import { readFile } from 'node:fs/promises';
import process from 'node:process';

export async function main(): Promise<void> {
  const text = await readFile(process.argv[2] ?? '/dev/stdin', 'utf8');
  process.stdout.write(text);
}
