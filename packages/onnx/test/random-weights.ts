// Random weights for export tests: zero-initialised score layers and unit batch-norm statistics
// would hide a wrong translation (constant outputs agree whatever the graph does).
import type { Module } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';

export function randomizeWeights(model: Module, seed: number): void {
  let s = seed;
  tf.tidy(() => {
    for (const entry of model.namedEntries()) {
      const v = entry.variable;
      if (v.dtype !== 'float32') continue;
      s += 1;
      const name = entry.name;
      if (v.rank <= 1) {
        const positive = /running_?var|weight/i.test(name);
        v.assign(
          positive
            ? tf.randomUniform(v.shape, 0.5, 1.5, 'float32', s)
            : tf.randomNormal(v.shape, 0, 0.2, 'float32', s),
        );
      } else {
        const fanIn = v.shape.slice(0, -1).reduce((a, b) => a * b, 1);
        v.assign(tf.randomNormal(v.shape, 0, Math.sqrt(2 / Math.max(1, fanIn)), 'float32', s));
      }
    }
  });
}
