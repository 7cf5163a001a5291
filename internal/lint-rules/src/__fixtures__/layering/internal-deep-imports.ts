import { VERSION } from '../../../packages/kube-runtime/src/version.ts';

export const runtimeVersion = VERSION;
