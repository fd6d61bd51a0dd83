// The project's rule for tests: every test leaves tf.memory().numTensors where it found it. One
// set of hooks for the files that check it the same way (tf is passed in: tooling does not
// depend on tfjs).
import { afterEach, beforeAll, beforeEach, expect } from 'vitest';

/**
 * Registers, in the calling test file or describe block: the backend (when given) before all
 * tests, and after each test, that it left no more and no fewer tensors than it found.
 */
export function withoutTensorLeaks(tf, options = {}) {
  let baseline = 0;
  if (options.backend) {
    beforeAll(async () => {
      await tf.setBackend(options.backend);
    });
  }
  beforeEach(() => {
    baseline = tf.memory().numTensors;
  });
  afterEach(() => {
    expect(tf.memory().numTensors).toBe(baseline);
  });
}
