import { VERSION } from '../../kube-runtime/src/version.ts';

export const runtimeVersion = VERSION;
