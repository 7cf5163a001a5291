import { StringDecoder } from 'string_decoder';

export const decoder = new StringDecoder('utf8');
