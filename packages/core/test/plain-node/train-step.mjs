// Runs a gradient step through the BUILT package under plain `node` (not vitest): Node's import of
// @tensorflow/tfjs-core gets its CommonJS entry, which registers no gradients by itself.
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { Module, Rng } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';

await tf.setBackend('cpu');

class Linear extends Module {
  constructor(rng) {
    super();
    this.weight = this.registerParameter(
      'weight',
      tf.tensor2d(rng.fillNormal(new Float32Array(6), 0, 0.1), [3, 2]),
    );
    this.bias = this.registerParameter('bias', tf.zeros([2]), { weightDecay: false });
  }
  forward(x) {
    return tf.add(tf.matMul(x, this.weight), this.bias);
  }
}

const model = new Linear(new Rng(1));
const x = tf.tensor2d([
  [1, 2, 3],
  [4, 5, 6],
]);
const y = tf.tensor2d([
  [1, 0],
  [0, 1],
]);
const optimizer = tf.train.sgd(0.01);
const losses = [];
let baseline = -1;
for (let i = 0; i < 20; i++) {
  if (i === 1) baseline = tf.memory().numTensors;
  const loss = optimizer.minimize(
    () => tf.mean(tf.square(tf.sub(model.forward(x), y))),
    true,
    model.parameters(),
  );
  losses.push(loss.dataSync()[0]);
  loss.dispose();
}
assert.ok(losses[19] < losses[0] * 0.9, `loss should fall: ${losses[0]} -> ${losses[19]}`);
// chained ops are registered too
const chained = tf.tensor1d([1, 2, 3]);
const total = chained.sum();
assert.equal(total.dataSync()[0], 6);
tf.dispose([chained, total]);
assert.equal(tf.memory().numTensors, baseline, 'training steps must not leak tensors');
console.log(`plain-node train step: ok (loss ${losses[0].toFixed(4)} -> ${losses[19].toFixed(4)})`);
