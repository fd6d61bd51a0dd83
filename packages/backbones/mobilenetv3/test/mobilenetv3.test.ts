// MobileNetV3-Large against torchvision 0.14: a torch.save'd state_dict loaded by name gives the same
// outputs (plain and dilated), parameter counts, names and stage indices.
import '@tensorflow/tfjs-backend-cpu';
import { IMAGENET_NORMALIZATION, Rng } from '@semseg/core';
import { torchNameMap } from '@semseg/layers';
import { loadTorchWeights } from '@semseg/resnet';
import { torchSkipReason } from '@semseg/tooling/python';
import { withoutTensorLeaks } from '@semseg/tooling/tensor-leaks';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { MobileNetV3, makeDivisible } from '../src/index.js';
import { maxAbs, maxAbsDiff, runTorch } from './torch-io.js';

withoutTensorLeaks(tf, { backend: 'cpu' });

function mapFor(model: MobileNetV3) {
  return torchNameMap(model, {
    description: "torchvision's mobilenet_v3_large",
    normalization: IMAGENET_NORMALIZATION,
    linear: ['classifier.0', 'classifier.3'],
  });
}

describe.skipIf(torchSkipReason() !== null)(
  'MobileNetV3-Large equals torchvision (state_dict file by name)',
  () => {
    for (const dilated of [false, true]) {
      it(`${dilated ? 'dilated (output stride 16): every stage' : 'with its classifier: probabilities and every stage'}`, async () => {
        const { arrays, files } = await runTorch(
          `
model = torchvision.models.mobilenet_v3_large(weights=None, dilated=${dilated ? 'True' : 'False'})
calibrate(model, [torch.randn(2, 3, 64, 80) for _ in range(3)])
scale_(model.classifier[3], 20)
torch.save(model.state_dict(), os.path.join(D, 'model.pth'))
x = torch.randn(1, 3, 67, 93)
out = {'x': nhwc(x)}
with torch.no_grad():
    h = x
    for i, layer in enumerate(model.features):
        h = layer(h)
        if i in (0, 2, 4, 7, 13, 16):
            out['f%d' % i] = nhwc(h)
    out['probabilities'] = F.softmax(model(x), 1)
save_arrays(out)
`,
          {},
          ['model.pth'],
        );
        const model = new MobileNetV3({ dilated, numClasses: 1000 }, new Rng(1));
        model.eval();
        expect(model.features.stageIndices).toEqual([0, 2, 4, 7, 13, 16]);
        const report = await loadTorchWeights(model, mapFor(model), {
          name: 'model.pth',
          data: files['model.pth']!,
        });
        expect(report.notInSource).toEqual([]);
        const x = tf.tensor4d(arrays.x!.data, arrays.x!.shape as [number, number, number, number]);
        const indices = [0, 2, 4, 7, 13, 16];
        const taps = model.features.taps(x, indices);
        taps.forEach((tap, k) => {
          const reference = arrays[`f${indices[k]}`]!;
          expect(tap.shape).toEqual(reference.shape);
          expect(
            maxAbsDiff(tap.dataSync(), reference.data) / maxAbs(reference.data),
            `features.${indices[k]}`,
          ).toBeLessThan(1e-4);
        });
        expect(taps.at(-1)!.shape.slice(1, 3)).toEqual(dilated ? [5, 6] : [3, 3]);
        const probabilities = tf.tidy(() => tf.softmax(tf.reshape(model.forward(x), [1, -1])));
        const p = probabilities.dataSync();
        expect(maxAbs(p)).toBeGreaterThan(0.01);
        expect(maxAbsDiff(p, arrays.probabilities!.data)).toBeLessThan(1e-4);
        tf.dispose([x, probabilities, ...taps]);
        model.dispose();
      }, 60_000);
    }

    it('parameter count equals torchvision (5,483,032 with the classifier) and names are its keys', async () => {
      const { arrays, files } = await runTorch(
        `
m = torchvision.models.mobilenet_v3_large(weights=None)
keys = [k for k in m.state_dict().keys() if not k.endswith('num_batches_tracked')]
open(os.path.join(D, 'keys.json'), 'w').write(json.dumps(keys))
save_arrays({'count': torch.tensor([sum(p.numel() for p in m.parameters())], dtype=torch.float64)})
`,
        {},
        ['keys.json'],
      );
      expect(arrays.count!.data[0]).toBe(5483032);
      const model = new MobileNetV3({ numClasses: 1000 }, new Rng(0));
      expect(model.numParameters()).toBe(5483032);
      const keys = JSON.parse(new TextDecoder().decode(files['keys.json'])) as string[];
      expect(
        model
          .namedEntries()
          .map((e) => e.name)
          .sort(),
      ).toEqual(keys.sort());
      model.dispose();
    });
  },
);

describe('MobileNetV3 names and rounding', () => {
  it('width changes channels (torchvision rounding) but not names', () => {
    expect([makeDivisible(16 * 0.5), makeDivisible(72 * 0.25), makeDivisible(960 * 0.75)]).toEqual([
      8, 24, 720,
    ]);
    const names = (width: number) => {
      const m = new MobileNetV3({ width, dilated: true, numClasses: 4 }, new Rng(0));
      const out = m.namedEntries().map((e) => e.name);
      m.dispose();
      return out;
    };
    const quarter = names(0.25);
    expect(quarter).toEqual(names(0.5));
    expect(quarter).toContain('features.4.block.2.fc1.weight');
    expect(quarter).toContain('features.16.1.running_var');
  });
});
