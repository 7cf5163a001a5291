import { startStack } from '@claude-k8s/some-future-helper';

export const start = startStack;
