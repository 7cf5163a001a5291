import { VERSION } from '@claude-k8s/paperclip-adapter';

export const adapterVersion = VERSION;
