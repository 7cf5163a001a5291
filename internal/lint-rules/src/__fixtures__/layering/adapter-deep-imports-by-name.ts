import { VERSION } from '@claude-k8s/kube-runtime/src/version.ts';

export const runtimeVersion = VERSION;
