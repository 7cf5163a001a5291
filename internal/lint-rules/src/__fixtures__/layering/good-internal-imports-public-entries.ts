import { VERSION } from '@claude-k8s/kube-runtime';
import { chunksOf } from '@claude-k8s/test-utils';

export const helpers = { VERSION, chunksOf };
