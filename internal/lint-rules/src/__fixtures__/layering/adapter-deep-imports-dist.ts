import { VERSION } from '@claude-k8s/stream-json/dist/index.js';

export const streamJsonVersion = VERSION;
