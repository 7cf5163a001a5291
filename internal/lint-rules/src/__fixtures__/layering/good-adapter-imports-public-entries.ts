import { VERSION as runtimeVersion } from '@claude-k8s/kube-runtime';
import { VERSION as streamJsonVersion } from '@claude-k8s/stream-json';
import type { AdapterExecutionContext } from '@paperclipai/adapter-utils';

export const versions = [runtimeVersion, streamJsonVersion];
export type Context = AdapterExecutionContext;
