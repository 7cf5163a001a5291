import { chunksOf } from '@claude-k8s/test-utils';

export const split = chunksOf;
