export { fixturePath, readFixture, listFixtures } from './fixtures.ts';
export { chunksOf, splitAt, toAsyncIterable } from './streams.ts';
export { createManualClock, type ManualClock } from './manual-clock.ts';
export { waitFor, type WaitForOptions } from './wait-for.ts';
