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
        // The last batch norm of each residual branch small (trained ResNets' are; torchvision's
        // zero_init_residual): otherwise 50-101 random blocks amplify float32 rounding past 1e-4.
        if (/layer\d+\.\d+\.bn3\.weight$/.test(name))
          v.assign(tf.randomUniform(v.shape, 0.05, 0.25, 'float32', s));
        else
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

interface WithChildren {
  children(): Array<[string, unknown]>;
}

/**
 * Sets every batch norm's running statistics to those of one batch (momentum 1 for one training
 * forward), as the DESIGN notes advise: random statistics make deep residual nets' logits huge and
 * their probabilities one-hot, where float32 rounding alone moves them.
 */
export function calibrateBatchNorm(
  model: Module & { forward(x: tf.Tensor4D): tf.Tensor4D },
  x: tf.Tensor4D,
): void {
  const changed: Array<[{ momentum: number | null }, number | null]> = [];
  const visit = (m: unknown) => {
    const bn = m as { momentum?: number | null; runningVar?: unknown };
    if (bn.runningVar && typeof bn.momentum === 'number') {
      changed.push([bn as { momentum: number | null }, bn.momentum]);
      bn.momentum = 1;
    }
    for (const [, child] of (m as WithChildren).children()) visit(child);
  };
  visit(model);
  model.train();
  try {
    tf.dispose(tf.tidy(() => model.forward(x)));
  } finally {
    for (const [bn, momentum] of changed) {
      bn.momentum = momentum;
      // Channels that a small random net leaves nearly constant would otherwise be scaled by up to
      // 1 / sqrt(eps): float32 rounding there, not the translation, would dominate the comparison.
      const v = (bn as unknown as { runningVar: tf.Variable }).runningVar;
      tf.tidy(() => v.assign(tf.maximum(v, 0.05)));
    }
    model.eval();
  }
}
