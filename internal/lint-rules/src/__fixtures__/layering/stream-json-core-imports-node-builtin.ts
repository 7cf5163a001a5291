import { readFile } from 'node:fs/promises';

export const readTranscript = (path: string) => readFile(path, 'utf8');
