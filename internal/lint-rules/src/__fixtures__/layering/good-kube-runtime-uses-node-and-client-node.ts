import { request } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';

export const tools = { request, KubeConfig };
