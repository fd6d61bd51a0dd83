// The whole PSPNet head (pyramid pooling, classifier, auxiliary head, upsampling) against a PyTorch
// twin built as the reference's, with our weights passed through the PyTorch name map, in eval
// (running statistics) and training mode (batch statistics), with aligned and half-pixel corners.
import { Rng } from '@semseg/core';
import { Trainer } from '@semseg/engine';
import { softmaxCrossEntropy } from '@semseg/layers';
import { torchSkipReason } from '@semseg/tooling/python';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { PSPNet, type PspHeadConfig } from '../src/index.js';
import { PY_STAND_IN, StandInBackbone } from './stand-in.js';
import { type NamedArray, arrayOf, maxAbsDiff, runTorch } from './torch-io.js';
import { PY_PSPNET, exportForTorch, randomizeBatchNorm } from './torch-pspnet.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const CLASSES = 5;
const BINS = [1, 2, 3, 6];
// width 1/16: the classifier's 3x3 conv has 32 channels, the auxiliary head's 16.
const HEAD: PspHeadConfig = {
  numClasses: CLASSES,
  bins: BINS,
  dropout: 0,
  auxWeight: 0.4,
  alignCorners: true,
  width: 1 / 16,
};

function build(alignCorners: boolean, seed: number): PSPNet {
  const rng = new Rng(seed);
  const model = new PSPNet(new StandInBackbone(rng.derive('backbone')), { ...HEAD, alignCorners }, rng);
  randomizeBatchNorm(model, seed);
  return model;
}

describe('PSPNet head structure', () => {
  it('names its parts as the reference and sizes the pyramid at 1/4 of the features', () => {
    const model = build(true, 1);
    const names = Object.keys(model.stateDict());
    expect(names).toContain('ppm.features.0.1.weight');
    expect(names).toContain('ppm.features.3.2.running_var');
    expect(names).toContain('cls.0.weight');
    expect(names).toContain('cls.1.bias');
    expect(names).toContain('cls.4.weight');
    expect(names).toContain('cls.4.bias');
    expect(names).toContain('aux.4.bias');
    expect(model.stateDict()['ppm.features.2.1.weight']!.shape).toEqual([1, 1, 16, 4]);
    expect(model.stateDict()['cls.0.weight']!.shape).toEqual([3, 3, 32, 32]);
    expect(model.stateDict()['aux.0.weight']!.shape).toEqual([3, 3, 8, 16]);
    // The pyramid's 1x1 convs have no bias (batch norm follows).
    expect(names.filter((n) => /^ppm\.features\.\d+\.1\.bias$/.test(n))).toEqual([]);
    model.dispose();
  });

  it('gives the Trainer main + 0.4 x auxiliary cross-entropy as its loss', () => {
    const model = build(true, 5);
    const trainer = new Trainer({
      model,
      optimizer: { type: 'sgd' },
      schedule: { policy: 'fixed', baseLr: 0.01, maxSteps: 1 },
    });
    const images = tf.tensor4d(new Rng(8).fillNormal(new Float32Array(2 * 21 * 19 * 3)), [2, 21, 19, 3]);
    const labels = tf.tensor3d(
      Int32Array.from({ length: 2 * 21 * 19 }, (_, i) => (i % 7 === 0 ? 255 : i % CLASSES)),
      [2, 21, 19],
      'int32',
    );
    const before = tf.memory().numTensors;
    model.train();
    const loss = trainer.loss(images, labels);
    const [main, aux] = model.trainingOutputs(images, labels);
    const expected = tf.tidy(() =>
      tf.add(
        softmaxCrossEntropy(main!.logits, labels),
        tf.mul(softmaxCrossEntropy(aux!.logits, labels), 0.4),
      ),
    );
    expect(Math.abs(loss.dataSync()[0]! - expected.dataSync()[0]!)).toBeLessThan(1e-6);
    tf.dispose([loss, expected, main!.logits, aux!.logits]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([images, labels]);
    trainer.dispose();
    model.dispose();
  });

  it('has no auxiliary head when its weight is 0', () => {
    const rng = new Rng(2);
    const model = new PSPNet(new StandInBackbone(rng), { ...HEAD, auxWeight: 0 }, rng);
    expect(model.aux).toBeNull();
    expect(Object.keys(model.stateDict()).some((n) => n.startsWith('aux.'))).toBe(false);
    model.dispose();
  });
});

describe.skipIf(torchSkipReason() !== null)('PSPNet head against PyTorch', () => {
  it('gives the same logits in eval and the same main and auxiliary logits in training (max |d| < 1e-4)', () => {
    const [n, h, w] = [2, 37, 29];
    const images = tf.tensor4d(new Rng(7).fillNormal(new Float32Array(n * h * w * 3)), [n, h, w, 3]);
    const labels = tf.zeros([n, h, w], 'int32') as tf.Tensor3D;
    const inputs: Record<string, NamedArray> = { images: arrayOf(images) };
    const ours: Record<string, Float32Array> = {};
    const before = tf.memory().numTensors;
    for (const align of [true, false]) {
      const model = build(align, align ? 3 : 4);
      for (const [key, value] of Object.entries(exportForTorch(model))) inputs[`${align}/${key}`] = value;
      model.eval();
      const evalLogits = model.forward(images);
      expect(evalLogits.shape).toEqual([n, h, w, CLASSES]);
      ours[`${align}/eval`] = Float32Array.from(evalLogits.dataSync());
      model.train();
      const outputs = model.trainingOutputs(images, labels);
      expect(outputs.map((o) => o.weight)).toEqual([1, 0.4]);
      expect(outputs[1]!.logits.shape).toEqual([n, h, w, CLASSES]);
      ours[`${align}/main`] = Float32Array.from(outputs[0]!.logits.dataSync());
      ours[`${align}/aux`] = Float32Array.from(outputs[1]!.logits.dataSync());
      tf.dispose([evalLogits, ...outputs.map((o) => o.logits)]);
      model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);

    const script = `${PY_STAND_IN}${PY_PSPNET}
a = load_arrays()
x = nchw(a['images'])
out = {}
for align in [True, False]:
    prefix = '%s/' % ('true' if align else 'false')
    net = PSP(StandIn(), 8, 16, ${CLASSES}, ${JSON.stringify(BINS)}, 32, 16, 0.0, align)
    load_ours(net, {k[len(prefix):]: v for k, v in a.items() if k.startswith(prefix)})
    net.eval()
    with torch.no_grad():
        out[prefix + 'eval'] = nhwc(net(x)[0])
        net.train()
        main, aux = net(x)
    out[prefix + 'main'] = nhwc(main)
    out[prefix + 'aux'] = nhwc(aux)
save_arrays(out)
`;
    const reference = runTorch(script, inputs);
    for (const [key, values] of Object.entries(ours)) {
      const d = maxAbsDiff(values, reference[key]!.data);
      console.log(`PSPNet head ${key}: max |d| ${d.toExponential(2)}`);
      expect(d, key).toBeLessThan(1e-4);
    }
    tf.dispose([images, labels]);
  });
});
