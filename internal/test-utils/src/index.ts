export { fixturePath, readFixture, listFixtures } from './fixtures.ts';
export { chunksOf, splitAt, toAsyncIterable } from './streams.ts';
