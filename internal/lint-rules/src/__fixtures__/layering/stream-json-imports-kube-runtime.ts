import { VERSION } from '@claude-k8s/kube-runtime';

export const runtimeVersion = VERSION;
