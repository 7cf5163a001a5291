import { VERSION } from '@claude-k8s/stream-json';

export const streamJsonVersion = VERSION;
