import { VERSION } from './version.ts';

export const userAgent = `stream-json/${VERSION}`;
export const decoder = new TextDecoder();
