// ResNet's parameter counts at every depth against torchvision 0.14's, and ResNet-101's feature
// sizes at output stride 8 (five full-width networks: a file of its own, so that vitest runs it
// beside resnet.test.ts).
import '@tensorflow/tfjs-backend-cpu';
import { Rng } from '@semseg/core';
import { nextMacrotask } from '@semseg/tooling/event-loop';
import { torchSkipReason } from '@semseg/tooling/python';
import { withoutTensorLeaks } from '@semseg/tooling/tensor-leaks';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ResNet, dilationForOutputStride } from '../src/index.js';
import { runTorch } from './torch-io.js';

/**
 * Counts and sizes need the shapes only: a generator that leaves the weights at zero (the normal
 * draws for five full-width networks, 164M parameters, took about 6 s).
 */
class ZeroRng extends Rng {
  override fillNormal(out: Float32Array): Float32Array {
    return out;
  }
  override fillUniform(out: Float32Array): Float32Array {
    return out;
  }
  override split(): Rng {
    return new ZeroRng();
  }
  override derive(): Rng {
    return new ZeroRng();
  }
}

withoutTensorLeaks(tf, { backend: 'cpu' });

describe.skipIf(torchSkipReason() !== null)('ResNet sizes equal torchvision', () => {
  it('parameter counts equal torchvision (with the 1000-class fc); ResNet-101 at output stride 8 has its feature sizes', async () => {
    // PyTorch builds its five networks in its own process while ours are built here.
    const torchRun = runTorch(`
counts = []
for depth in [18, 34, 50, 101, 152]:
    m = getattr(torchvision.models, 'resnet%d' % depth)(weights=None)
    counts.append(sum(p.numel() for p in m.parameters()))
m = torchvision.models.resnet101(weights=None, replace_stride_with_dilation=[False, True, True]).eval()
x = torch.zeros(1, 3, 67, 93)
shapes = []
with torch.no_grad():
    h = m.maxpool(m.relu(m.bn1(m.conv1(x))))
    for name in ['layer1', 'layer2', 'layer3', 'layer4']:
        h = getattr(m, name)(h)
        shapes.append(list(nhwc(h).shape))
save_arrays({'counts': torch.tensor(counts, dtype=torch.float64), 'shapes': torch.tensor(shapes)})
`);
    // Awaited below; a failure of ours before then must not leave its rejection unhandled.
    torchRun.catch(() => undefined);
    const depths = [18, 34, 50, 101, 152] as const;
    const counts: number[] = [];
    let featureShapes: number[] = [];
    for (const depth of depths) {
      await nextMacrotask(); // five full-width networks: a turn of the loop between them
      const outputStride8 = depth === 101;
      const model = new ResNet(
        {
          depth,
          numClasses: 1000,
          ...(outputStride8 ? { replaceStrideWithDilation: dilationForOutputStride(8) } : {}),
        },
        new ZeroRng(),
      );
      if (outputStride8) {
        model.eval();
        const x = tf.zeros([1, 67, 93, 3]) as tf.Tensor4D;
        const features = model.features(x);
        const shapes = (['layer1', 'layer2', 'layer3', 'layer4'] as const).map((n) => features[n]!.shape);
        featureShapes = shapes.flat();
        expect(shapes.map((s) => s.slice(1, 3))).toEqual([
          [17, 24],
          [9, 12],
          [9, 12],
          [9, 12],
        ]);
        expect(model.strides).toEqual({ layer1: 4, layer2: 8, layer3: 8, layer4: 8 });
        tf.dispose([x, ...Object.values(features)]);
      }
      counts.push(model.numParameters());
      model.dispose();
    }
    // torchvision 0.14: 11,689,512 / 21,797,672 / 25,557,032 / 44,549,160 / 60,192,808.
    const { arrays } = await torchRun;
    expect(Array.from(arrays.counts!.data)).toEqual([11689512, 21797672, 25557032, 44549160, 60192808]);
    expect(counts).toEqual(Array.from(arrays.counts!.data));
    expect(featureShapes).toEqual(Array.from(arrays.shapes!.data));
  }, 120_000);
});
