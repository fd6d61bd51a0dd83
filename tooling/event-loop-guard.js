// A test worker that blocks its event loop for more than 60 s fails the whole run with vitest's
// "Timeout calling onTaskUpdate" (its RPC timeout is fixed), whichever test did it. This setup file
// names the tests that held the loop for long, so a slow one shows up in the log of a fast machine
// before a slower machine turns it into that error. `SEMSEG_BLOCK_WARN_S` sets the threshold.
// It also gives the loop a turn after every test.
import { afterEach, beforeEach, expect } from 'vitest';

const thresholdMs = Number(process.env.SEMSEG_BLOCK_WARN_S ?? 15) * 1000;
/** Tests seen since the last tick, with when they started and ended. */
globalThis.__semsegLoopGuard ??= { tests: [], lastTick: performance.now() };
const state = globalThis.__semsegLoopGuard;
state.file = expect.getState().testPath ?? state.file;

if (!state.timer) {
  state.timer = setInterval(() => {
    const now = performance.now();
    const gap = now - state.lastTick;
    if (gap > thresholdMs) {
      const names = state.tests.map((t) => t.name);
      console.warn(
        `[event-loop-guard] the event loop was blocked for ${(gap / 1000).toFixed(1)} s in ${
          names.length ? names.join(' | ') : `${state.file ?? '?'}, outside its tests`
        } (vitest fails a run whose worker blocks for 60 s: give the loop a turn, e.g. with nextMacrotask() from @semseg/tooling/event-loop)`,
      );
    }
    state.tests = state.tests.filter((t) => t.end === undefined);
    state.lastTick = now;
  }, 250);
  state.timer.unref();
}

beforeEach(() => {
  state.tests.push({ name: expect.getState().currentTestName ?? '?', end: undefined });
});

afterEach(async () => {
  const name = expect.getState().currentTestName ?? '?';
  const test = state.tests.find((t) => t.name === name && t.end === undefined);
  if (test) test.end = performance.now();
  // vitest goes from test to test on microtasks: without a macrotask here, a file of synchronous
  // tests is one block of the loop, however short each test is. A timer (not setImmediate), so
  // that the loop's timers phase, this guard's tick included, runs between two tests.
  await new Promise((resolve) => setTimeout(resolve, 0));
});
