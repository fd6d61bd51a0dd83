// fcn-resnet50/101 against torchvision 0.14: its state_dict, written by torch.save, imports by name
// (auxiliary classifier included) and gives torchvision's probabilities (ResNet-50; ResNet-101's
// backbone forward is checked in @semseg/deeplab); parameter counts;
// `--pretrained` from an ImageNet-style file; a width-reduced model overfits through the Trainer.
import '@tensorflow/tfjs-backend-cpu';
import { Rng, createModel, getModelDefinition } from '@semseg/core';
import { Trainer, importWeights } from '@semseg/engine';
import { torchSkipReason } from '@semseg/tooling/python';
import { withoutTensorLeaks } from '@semseg/tooling/tensor-leaks';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../src/index.js';
import type { FcnResNet } from '../src/index.js';
import { syntheticBatch } from './synthetic.js';
import { maxAbs, maxAbsDiff, runTorch } from './torch-io.js';
import { useWasm } from './wasm.js';

withoutTensorLeaks(tf, { backend: 'cpu' });

/**
 * The input of the forward comparison: odd sides that no stride divides, 35x47 rather than 67x93
 * (a quarter of the pixels of both cpu-backend passes; layer4's map at output stride 8 is 5x6).
 */
const H = 35;
const W = 47;

/** Softmax over classes of N x H x W x C logits, as a flat array. */
function probabilities(logits: tf.Tensor4D): Float32Array {
  const p = tf.tidy(() => tf.softmax(logits));
  const out = p.dataSync() as Float32Array;
  p.dispose();
  return out;
}

describe.skipIf(torchSkipReason() !== null)(
  'fcn-resnet equals torchvision (state_dict file imported by name)',
  () => {
    for (const depth of [50, 101] as const) {
      // The ResNet-101 backbone's forward is compared with torchvision in @semseg/deeplab's
      // deeplabv3-resnet101 case and the FCN head here at ResNet-50: fcn-resnet101 checks its names,
      // shapes and parameter count (its full-size forward on the cpu backend took ~70 s).
      const forward = depth === 50;
      it(`fcn-resnet${depth}: ${forward ? `main and auxiliary probabilities on ${H}x${W}, ` : 'every tensor imported by name, '}parameter count`, async () => {
        const { arrays, files } = await runTorch(
          `
model = torchvision.models.segmentation.fcn_resnet${depth}(weights=None, weights_backbone=None, num_classes=21, aux_loss=True)
${forward ? 'calibrate(model, [torch.randn(2, 3, 64, 80) for _ in range(2)])' : '# no forward compared: names and shapes only, no calibration needed'}
# Probabilities far from uniform, logits small enough that float32 rounding through 50-101 layers
# stays under 1e-4 in them.
scale_(model.classifier[4], ${depth === 50 ? 2 : 1})
scale_(model.aux_classifier[4], ${depth === 50 ? 2 : 1})
torch.save(model.state_dict(), os.path.join(D, 'model.pth'))
x = torch.randn(1, 3, ${H}, ${W})
with torch.no_grad():
    y = model(x)
json.dump(sum(p.numel() for p in model.parameters()), open(os.path.join(D, 'count.json'), 'w'))
save_arrays({'x': nhwc(x), 'out': nhwc(F.softmax(y['out'], 1)), 'aux': nhwc(F.softmax(y['aux'], 1))})
`,
          {},
          ['model.pth', 'count.json'],
        );
        const name = `fcn-resnet${depth}`;
        const model = createModel(name, {}, { rng: new Rng(1) }) as FcnResNet;
        // torchvision 0.14 with aux_loss: 35,322,218 (ResNet-50) and 54,314,346 (ResNet-101).
        const count = JSON.parse(new TextDecoder().decode(files['count.json'])) as number;
        expect(count).toBe(depth === 50 ? 35322218 : 54314346);
        expect(model.numParameters()).toBe(count);
        const report = await importWeights(model, getModelDefinition(name), {
          name: 'model.pth',
          data: files['model.pth']!,
        });
        expect(report.missing).toEqual([]);
        expect(report.loaded.length).toBe(model.namedEntries().length);
        expect(report.loaded).toContain('aux_classifier.4.weight');
        if (!forward) {
          model.dispose();
          return;
        }
        model.eval();
        const x = tf.tensor4d(arrays.x!.data, [1, H, W, 3]);
        const logits = model.forward(x);
        expect(logits.shape).toEqual([1, H, W, 21]);
        const p = probabilities(logits);
        expect(maxAbs(p)).toBeGreaterThan(0.15); // far from uniform (1/21): a wrong map would show
        console.log(
          `fcn-resnet${depth}: max p ${maxAbs(p).toFixed(3)}, max |dp| ${maxAbsDiff(p, arrays.out!.data).toExponential(2)}`,
        );
        expect(maxAbsDiff(p, arrays.out!.data)).toBeLessThan(1e-4);
        // The auxiliary head, as trainingOutputs runs it (eval mode: no dropout, running statistics).
        const labels = tf.zeros([1, H, W], 'int32') as tf.Tensor3D;
        const outputs = model.trainingOutputs(x, labels);
        expect(outputs.map((o) => o.weight)).toEqual([1, 0.5]);
        expect(maxAbsDiff(probabilities(outputs[1]!.logits), arrays.aux!.data)).toBeLessThan(1e-4);
        tf.dispose([x, logits, labels, ...outputs.map((o) => o.logits)]);
        model.dispose();
      }, 90_000);
    }

    it('--pretrained loads an ImageNet ResNet file into the backbone only (fc ignored)', async () => {
      // An ImageNet-style file: the backbone keys of a seeded torchvision resnet50 plus its fc.
      const { files } = await runTorch(
        `
m = torchvision.models.resnet50(weights=None)
calibrate(m, [torch.randn(2, 3, 32, 32)])
torch.save(m.state_dict(), os.path.join(D, 'resnet50.pth'))
save_arrays({'mean': m.layer4[2].bn3.running_mean})
`,
        {},
        ['resnet50.pth'],
      );
      const definition = getModelDefinition('fcn-resnet50');
      const model = createModel('fcn-resnet50', { numClasses: 3 }, { rng: new Rng(2) }) as FcnResNet;
      const head = Array.from(model.classifier.layers[0]!.stateDict().weight!.dataSync().slice(0, 16));
      const report = await definition.pretrained!.load(model, {
        name: 'resnet50.pth',
        data: files['resnet50.pth']!,
      });
      expect(report.loaded.length).toBe(model.backbone.namedEntries().length);
      expect(
        report.notInSource.every((n) => n.startsWith('classifier.') || n.startsWith('aux_classifier.')),
      ).toBe(true);
      expect(Array.from(model.classifier.layers[0]!.stateDict().weight!.dataSync().slice(0, 16))).toEqual(
        head,
      );
      expect(
        maxAbs(model.backbone.stages.layer4.stateDict()['2.bn3.running_mean']!.dataSync()),
      ).toBeGreaterThan(0);
      model.dispose();
    }, 60_000);
  },
);

describe('fcn-resnet learns', () => {
  // wasm: @semseg/layers' convolutions train there, several times faster than on cpu.
  beforeAll(useWasm);
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('width 1/16 overfits one synthetic batch through the Trainer with the auxiliary loss, leaking no tensors', async () => {
    const size = 32;
    const n = 2;
    const { images, labels } = syntheticBatch(n, size, 3);
    const model = createModel('fcn-resnet50', { numClasses: 3, width: 1 / 16 }, { rng: new Rng(3) });
    const trainer = new Trainer({
      model,
      optimizer: { type: 'adam', weightDecay: 0 },
      schedule: { policy: 'fixed', baseLr: 1e-2, maxSteps: 200 },
    });
    let accuracy = 0;
    let steps = 0;
    let first = 0;
    let last = 0;
    let before = -1;
    for (steps = 1; steps <= 100; steps++) {
      const { loss } = await trainer.trainStep(images, labels, [n, size, size]);
      if (steps === 1) first = loss;
      last = loss;
      if (steps === 2) before = tf.memory().numTensors;
      if (steps % 10 === 0) {
        model.eval();
        const predicted = tf.tidy(() => tf.argMax(model.forward(tf.tensor4d(images, [n, size, size, 3])), 3));
        const values = predicted.dataSync();
        predicted.dispose();
        accuracy =
          Array.from(values).reduce((a: number, v, i) => a + (v === labels[i] ? 1 : 0), 0) / labels.length;
        if (accuracy > 0.95) break;
      }
    }
    console.log(
      `fcn-resnet50 width 1/16: pixel accuracy ${accuracy.toFixed(3)} after ${steps} steps (loss ${first.toFixed(3)} -> ${last.toFixed(3)})`,
    );
    expect(accuracy).toBeGreaterThan(0.95);
    expect(tf.memory().numTensors).toBe(before);
    trainer.dispose();
    model.dispose();
  }, 120_000);
});
