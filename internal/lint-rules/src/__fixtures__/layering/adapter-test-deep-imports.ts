import { expect, it } from 'vitest';
import { VERSION } from '../../../stream-json/src/version.ts';

it('reads the version', () => {
  expect(VERSION).toBeTypeOf('string');
});
