// ResNet against torchvision 0.14: outputs from a torch.save'd state_dict loaded by name, and frozen
// batch norm through training steps (parameter counts and feature sizes: resnet-counts.test.ts).
import '@tensorflow/tfjs-backend-cpu';
import { ConfigError, Rng } from '@semseg/core';
import { torchSkipReason } from '@semseg/tooling/python';
import { withoutTensorLeaks } from '@semseg/tooling/tensor-leaks';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  ResNet,
  type ResNetConfig,
  dilationForOutputStride,
  loadTorchWeights,
  resnetWeightMap,
} from '../src/index.js';
import { type NamedArray, maxAbs, maxAbsDiff, runTorch } from './torch-io.js';

withoutTensorLeaks(tf, { backend: 'cpu' });

const arrayOf = (t: tf.Tensor): NamedArray => ({
  shape: [...t.shape],
  data: Float32Array.from(t.dataSync()),
});

describe.skipIf(torchSkipReason() !== null)(
  'ResNet equals torchvision (state_dict file loaded by name)',
  () => {
    const cases: Array<{ title: string; config: ResNetConfig; torch: string }> = [
      {
        title: 'ResNet-18 with its ImageNet classifier: softmax probabilities',
        config: { depth: 18, numClasses: 1000 },
        torch: 'torchvision.models.resnet18(weights=None)',
      },
      {
        title: 'ResNet-50 at output stride 16 (replace_stride_with_dilation [F, F, T]): layer1..layer4',
        config: { depth: 50, replaceStrideWithDilation: dilationForOutputStride(16) },
        torch: 'torchvision.models.resnet50(weights=None, replace_stride_with_dilation=[False, False, True])',
      },
    ];
    for (const { title, config, torch } of cases) {
      it(title, async () => {
        const { arrays, files } = await runTorch(
          `
model = ${torch}
calibrate(model, [torch.randn(2, 3, 64, 80) for _ in range(3)])
scale_(model.fc, 8)
torch.save(model.state_dict(), os.path.join(D, 'model.pth'))
x = torch.randn(1, 3, 67, 93)
with torch.no_grad():
    h = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    out = {'x': nhwc(x)}
    for name in ['layer1', 'layer2', 'layer3', 'layer4']:
        h = getattr(model, name)(h)
        out[name] = nhwc(h)
    out['probabilities'] = F.softmax(model(x), 1)
save_arrays(out)
`,
          {},
          ['model.pth'],
        );
        const model = new ResNet(config, new Rng(1));
        model.eval();
        const report = await loadTorchWeights(model, resnetWeightMap(model, model), {
          name: 'model.pth',
          data: files['model.pth']!,
        });
        expect(report.notInSource).toEqual([]);
        const x = tf.tensor4d(arrays.x!.data, arrays.x!.shape as [number, number, number, number]);
        const features = model.features(x);
        for (const name of ['layer1', 'layer2', 'layer3', 'layer4'] as const) {
          const ours = features[name]!;
          expect(ours.shape, name).toEqual(arrays[name]!.shape);
          const reference = arrays[name]!.data;
          // Features are O(1) after calibrated batch norm: relative to their largest value.
          expect(maxAbsDiff(ours.dataSync(), reference) / maxAbs(reference), name).toBeLessThan(1e-4);
        }
        tf.dispose(Object.values(features));
        if (config.numClasses) {
          const probabilities = tf.tidy(() => tf.softmax(tf.reshape(model.forward(x), [1, -1])));
          const p = arrayOf(probabilities);
          expect(maxAbs(p.data)).toBeGreaterThan(0.01); // not uniform: the test can fail
          expect(maxAbsDiff(p.data, arrays.probabilities!.data)).toBeLessThan(1e-4);
          probabilities.dispose();
        }
        x.dispose();
        model.dispose();
      }, 60_000);
    }
  },
);

describe('ResNet options', () => {
  it('frozen batch norm keeps statistics and affine parameters through training steps', () => {
    const model = new ResNet({ depth: 18, width: 1 / 8, frozenBatchNorm: true, numClasses: 3 }, new Rng(2));
    const bnNames = model.namedEntries().filter((e) => /(^|\.)(bn\d|downsample\.1)\./.test(e.name));
    expect(bnNames.length).toBe(4 * 20); // 20 batch norms (17 in blocks and stem, 3 downsamples) x 4 tensors
    const snapshot = () =>
      Object.fromEntries(bnNames.map((e) => [e.name, Array.from(e.variable.dataSync())]));
    const before = snapshot();
    const conv1Before = Array.from(model.conv1.weight.dataSync());
    // Only convs and fc train: batch norm parameters are not the optimiser's.
    expect(model.parameters().length).toBe(model.namedParameters().length - 2 * 20);
    model.train();
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const optimizer = tf.train.sgd(0.1);
    for (let step = 0; step < 2; step++) {
      const loss = optimizer.minimize(
        () => tf.mean(tf.square(model.forward(x))) as tf.Scalar,
        true,
        model.parameters(),
      );
      loss!.dispose();
    }
    expect(snapshot()).toEqual(before);
    expect(maxAbsDiff(model.conv1.weight.dataSync(), conv1Before)).toBeGreaterThan(0);
    tf.dispose(x);
    optimizer.dispose();
    model.dispose();
  });

  it('names are torchvision keys and do not depend on width; BasicBlock refuses dilation', () => {
    const names = (width: number) => {
      const m = new ResNet({ depth: 50, width, numClasses: 10 }, new Rng(0));
      const out = m.namedEntries().map((e) => e.name);
      m.dispose();
      return out;
    };
    const small = names(1 / 16);
    expect(small).toEqual(names(1 / 8));
    expect(small).toContain('layer1.0.downsample.0.weight');
    expect(small).toContain('layer4.2.bn3.running_var');
    expect(small).toContain('fc.bias');
    expect(small.length).toBe(320 - 53); // torchvision resnet50 state_dict: 320 keys, 53 num_batches_tracked
    expect(
      () => new ResNet({ depth: 34, replaceStrideWithDilation: [false, true, true] }, new Rng(0)),
    ).toThrow(ConfigError);
  });
});
