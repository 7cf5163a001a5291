import type { AdapterExecutionContext } from '@paperclipai/adapter-utils';

export type Context = AdapterExecutionContext;
