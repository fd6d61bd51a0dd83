// Trains a few steps through the BUILT package under plain `node` (not vitest), on cpu and on wasm:
// Node's import of @tensorflow/tfjs-core is its CommonJS entry, and wasm has no
// Conv2DBackpropFilter, so this is what a user of dist/ gets.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import { Module, Rng } from '@semseg/core';
import {
  BatchNorm2d,
  Conv2d,
  ConvTranspose2d,
  MaxPool2d,
  MaxUnpool2d,
  ReLU,
  bilinear,
  classifier,
  l2WeightDecay,
  softmaxCrossEntropy,
} from '@semseg/layers';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';

const require = createRequire(import.meta.url);
setWasmPaths(`${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`);

class Net extends Module {
  constructor(rng) {
    super();
    this.conv = this.registerModule(
      'conv',
      new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1, rng }),
    );
    this.bn = this.registerModule('bn', new BatchNorm2d(4));
    this.relu = new ReLU();
    this.pool = this.registerModule('pool', new MaxPool2d({ kernelSize: 2, ceilMode: true }));
    this.atrous = this.registerModule(
      'atrous',
      new Conv2d({ inChannels: 4, outChannels: 4, kernelSize: 3, dilation: 2, padding: 2, rng }),
    );
    this.up = this.registerModule(
      'up',
      new ConvTranspose2d({
        inChannels: 4,
        outChannels: 4,
        kernelSize: 3,
        padding: 1,
        rng,
        weightInit: bilinear(),
      }),
    );
    this.unpool = this.registerModule('unpool', new MaxUnpool2d({ kernelSize: 2 }));
    this.score = this.registerModule('score', classifier(4, 3, { rng }));
  }
  loss(x, labels) {
    return tf.tidy(() => {
      const f = this.relu.forward(this.bn.forward(this.conv.forward(x)));
      const { output, switches } = this.pool.forwardWithSwitches(f);
      const d = this.up.forward(this.relu.forward(this.atrous.forward(output)));
      const logits = this.score.forward(this.unpool.forward(d, switches, [x.shape[1], x.shape[2]]));
      return tf.add(softmaxCrossEntropy(logits, labels), l2WeightDecay(this, 1e-4));
    });
  }
}

for (const backend of ['cpu', 'wasm']) {
  await tf.setBackend(backend);
  assert.equal(tf.getBackend(), backend);
  const rng = new Rng(1);
  const net = new Net(rng);
  const x = tf.tensor4d(rng.fillNormal(new Float32Array(2 * 7 * 9 * 3)), [2, 7, 9, 3]);
  const labels = new Uint8Array(2 * 7 * 9).map((_, i) => (i % 11 === 0 ? 255 : i % 3));
  const optimizer = tf.train.sgd(0.1);
  const losses = [];
  let baseline = -1;
  for (let step = 0; step < 10; step++) {
    if (step === 1) baseline = tf.memory().numTensors;
    const loss = optimizer.minimize(() => net.loss(x, labels), true, net.parameters());
    losses.push((await loss.data())[0]);
    loss.dispose();
  }
  assert.ok(losses[9] < losses[0], `loss should fall on ${backend}: ${losses[0]} -> ${losses[9]}`);
  assert.equal(tf.memory().numTensors, baseline, `training steps must not leak tensors on ${backend}`);
  console.log(
    `plain-node train steps on ${backend}: ok (loss ${losses[0].toFixed(4)} -> ${losses[9].toFixed(4)})`,
  );
  optimizer.dispose();
  x.dispose();
  net.dispose();
}
