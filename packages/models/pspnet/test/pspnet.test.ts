// pspnet-resnet50/101 on @semseg/resnet: registration, the reference recipe, parameter counts and
// feature sizes against PyTorch, the whole network (width 1/8) against a PyTorch twin built from
// torchvision's own Bottleneck, and ImageNet initialisation from a torch.save'd ResNet file.
import { Rng, createModel, getModelDefinition, getTrainPreset } from '@semseg/core';
import { torchSkipReason } from '@semseg/tooling/python';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type PSPNet, createPspnet, pspnetParameterGroup, pspnetWeightMap } from '../src/index.js';
import { arrayOf, maxAbsDiff, runTorch, runTorchFiles } from './torch-io.js';
import { PY_PSPNET, exportForTorch, randomizeBatchNorm } from './torch-pspnet.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const noTorch = torchSkipReason() !== null;

/** Softmax over the last axis of NHWC logits with `classes` channels, in float64. */
function softmax(logits: Float32Array, classes: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let p = 0; p < logits.length; p += classes) {
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[p + c]!);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += out[p + c] = Math.exp(logits[p + c]! - max);
    for (let c = 0; c < classes; c++) out[p + c]! /= sum;
  }
  return out;
}

describe('registration', () => {
  it('registers pspnet-resnet50/101 with the paper defaults, groups, presets and a PyTorch map', () => {
    for (const depth of [50, 101]) {
      const def = getModelDefinition(`pspnet-resnet${depth}`);
      expect(def.configSchema.parse({})).toEqual({
        numClasses: 21,
        width: 1,
        outputStride: 8,
        bins: [1, 2, 3, 6],
        dropout: 0.1,
        auxWeight: 0.4,
        alignCorners: true,
        frozenBatchNorm: false,
      });
      expect(def.pretrained?.description).toContain(`ResNet-${depth}`);
      const preset = getTrainPreset(`pspnet-resnet${depth}-voc`);
      expect(preset).toMatchObject({
        model: `pspnet-resnet${depth}`,
        optimizer: { type: 'sgd', momentum: 0.9, weightDecay: 1e-4 },
        schedule: { policy: 'poly', baseLr: 0.01, power: 0.9 },
        batchSize: 16,
        crop: [473, 473],
        scaleRange: [0.5, 2],
        flipProbability: 0.5,
        trainSplit: 'train_aug',
        steps: 50 * 661,
      });
      expect(preset.source).toContain('hszhao/semseg');
    }
    expect(pspnetParameterGroup('backbone.layer4.2.conv2.weight')).toEqual({
      lrMultiplier: 1,
      decayMultiplier: 1,
    });
    expect(pspnetParameterGroup('backbone.bn1.bias')).toEqual({ lrMultiplier: 1, decayMultiplier: 1 });
    expect(pspnetParameterGroup('ppm.features.0.1.weight')).toEqual({ lrMultiplier: 10, decayMultiplier: 1 });
    expect(pspnetParameterGroup('cls.4.bias')).toEqual({ lrMultiplier: 10, decayMultiplier: 1 });
    expect(pspnetParameterGroup('aux.1.weight')).toEqual({ lrMultiplier: 10, decayMultiplier: 1 });
  });

  it("has a PyTorch map covering every tensor, conv layout exactly for the 4-D weights, as the model's own names", () => {
    const before = tf.memory().numTensors;
    const model = createModel('pspnet-resnet101', { width: 1 / 16, numClasses: 4 }, { rng: new Rng(0) });
    const [map] = getModelDefinition('pspnet-resnet101').weightMaps!({ numClasses: 4 });
    expect(map!.format).toBe('pytorch');
    for (const [name, tensor] of Object.entries(model.stateDict())) {
      const source = map!.source(name);
      expect(source, name).not.toBeNull();
      expect(source!.key).toBe(name);
      expect(source!.layout, name).toBe(tensor.rank === 4 ? 'conv' : 'same');
    }
    expect(map!.ignore?.('backbone.bn1.num_batches_tracked')).toBe(true);
    expect(Object.keys(model.stateDict())).toContain('backbone.layer3.22.bn3.running_var');
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects a bad config with a one-line ConfigError naming the field', () => {
    expect(() => createModel('pspnet-resnet50', { outputStride: 32 }, { rng: new Rng(0) })).toThrow(
      /outputStride/,
    );
    expect(() => createModel('pspnet-resnet50', { bins: [] }, { rng: new Rng(0) })).toThrow(/bins/);
  });
});

describe.skipIf(noTorch)('PSPNet on the dilated ResNet against PyTorch', () => {
  it('has PyTorch parameter counts at width 1 and output stride 8 feature sizes', () => {
    const reference = runTorch(
      `${PY_PSPNET}
out = {}
for depth in [50, 101]:
    r = getattr(torchvision.models, 'resnet%d' % depth)(weights=None, replace_stride_with_dilation=[False, True, True])
    del r.fc
    net = PSP(r, 1024, 2048, 21, [1, 2, 3, 6], 512, 256, 0.1, True)
    count = sum(p.numel() for p in net.parameters())
    out['count%d' % depth] = torch.tensor([float(count // 65536), float(count % 65536)])  # exact in float32
    r.eval()
    with torch.no_grad():
        x = torch.zeros(1, 3, 65, 49)
        x = r.maxpool(r.relu(r.bn1(r.conv1(x))))
        l3 = r.layer3(r.layer2(r.layer1(x)))
        out['l3_%d' % depth] = torch.tensor([float(v) for v in l3.shape])
        out['l4_%d' % depth] = torch.tensor([float(v) for v in r.layer4(l3).shape])
save_arrays(out)
`,
      {},
    );
    for (const depth of [50, 101] as const) {
      const before = tf.memory().numTensors;
      const model = createPspnet(depth, {}, new Rng(depth));
      const count = model.numParameters();
      console.log(
        `pspnet-resnet${depth}: ${count.toLocaleString('en')} parameters (auxiliary head included)`,
      );
      const [high, low] = reference[`count${depth}`]!.data;
      expect(count).toBe(high! * 65536 + low!);
      model.dispose();
      // Feature sizes do not depend on width: check them on a narrow copy.
      const narrow = createPspnet(depth, { width: 1 / 16 }, new Rng(depth));
      narrow.eval();
      const x = tf.zeros([1, 65, 49, 3]) as tf.Tensor4D;
      const features = narrow.backbone.features(x);
      const torchShape = (key: string) => Array.from(reference[key]!.data);
      expect([1, 1024 / 16, 9, 7]).toEqual(torchShape(`l3_${depth}`).map((v, i) => (i === 1 ? v / 16 : v)));
      expect(features.layer3!.shape).toEqual([1, 9, 7, 1024 / 16]);
      expect(features.layer4!.shape).toEqual([1, 9, 7, 2048 / 16]);
      expect(torchShape(`l4_${depth}`)).toEqual([1, 2048, 9, 7]);
      const logits = narrow.forward(x);
      expect(logits.shape).toEqual([1, 65, 49, 21]);
      tf.dispose([x, logits, ...Object.values(features)]);
      narrow.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
  }, 120_000);

  it('equals the PyTorch network at width 1/8 in eval and training, on an odd size (max |dp| < 1e-4)', () => {
    const [n, h, w] = [2, 41, 35];
    const width = 1 / 8;
    const images = tf.tensor4d(new Rng(9).fillNormal(new Float32Array(n * h * w * 3)), [n, h, w, 3]);
    const labels = tf.zeros([n, h, w], 'int32') as tf.Tensor3D;
    const before = tf.memory().numTensors;
    const model = createPspnet(50, { width, numClasses: 6, dropout: 0 }, new Rng(5)) as PSPNet;
    randomizeBatchNorm(model, 11);
    const inputs = {
      images: arrayOf(images),
      ...exportForTorch(model, pspnetWeightMap(50, { numClasses: 6 })),
    };
    model.eval();
    const evalLogits = model.forward(images);
    const ours = { eval: Float32Array.from(evalLogits.dataSync()) } as Record<string, Float32Array>;
    model.train();
    const outputs = model.trainingOutputs(images, labels);
    ours.main = Float32Array.from(outputs[0]!.logits.dataSync());
    ours.aux = Float32Array.from(outputs[1]!.logits.dataSync());
    tf.dispose([evalLogits, ...outputs.map((o) => o.logits)]);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);

    const reference = runTorch(
      `${PY_PSPNET}
a = load_arrays()
x = nchw(a.pop('images'))
net = PSP(scaled_resnet(50, ${width}, [False, True, True]), 128, 256, 6, [1, 2, 3, 6], 64, 32, 0.0, True)
load_ours(net, a)
net.eval()
out = {}
with torch.no_grad():
    out['eval'] = nhwc(net(x)[0])
    net.train()
    main, aux = net(x)
out['main'] = nhwc(main)
out['aux'] = nhwc(aux)
save_arrays(out)
`,
      inputs,
    );
    for (const key of ['eval', 'main', 'aux']) {
      const scale = Math.max(...Array.from(reference[key]!.data, Math.abs));
      const d = maxAbsDiff(ours[key]!, reference[key]!.data);
      const dp = maxAbsDiff(softmax(ours[key]!, 6), softmax(reference[key]!.data, 6));
      console.log(
        `pspnet-resnet50 width 1/8 ${key}: max |dp| ${dp.toExponential(2)}, max |d logit| ${d.toExponential(2)} (max |logit| ${scale.toFixed(2)})`,
      );
      expect(dp, key).toBeLessThan(1e-4);
      expect(d, key).toBeLessThan(3e-4 * Math.max(1, scale));
    }
    tf.dispose([images, labels]);
  }, 120_000);

  it("loads a torch.save'd torchvision ResNet file into the backbone through the pretrained loader", async () => {
    const width = 1 / 16;
    const keys = [
      'conv1.weight',
      'layer4.2.bn3.running_var',
      'layer3.0.downsample.0.weight',
      'layer1.0.bn1.bias',
    ];
    const { arrays, files } = runTorchFiles(
      `${PY_PSPNET}
r = scaled_resnet(50, ${width}, [False, False, False], fc=1000)
for m in r.modules():
    if isinstance(m, nn.BatchNorm2d):
        m.running_mean.uniform_(-1, 1); m.running_var.uniform_(0.5, 2)
        m.weight.data.uniform_(0.5, 1.5); m.bias.data.uniform_(-0.5, 0.5)
torch.save(r.state_dict(), os.path.join(D, 'resnet50.pth'))
sd = r.state_dict()
save_arrays({k: sd[k] for k in ${JSON.stringify(keys)}})
`,
      {},
      ['resnet50.pth'],
    );
    const before = tf.memory().numTensors;
    const model = createModel('pspnet-resnet50', { width, numClasses: 3 }, { rng: new Rng(3) }) as PSPNet;
    const head = Float32Array.from(model.stateDict()['cls.4.weight']!.dataSync());
    const report = await getModelDefinition('pspnet-resnet50').pretrained!.load(model, {
      name: 'resnet50.pth',
      data: files['resnet50.pth']!,
    });
    const names = Object.keys(model.stateDict());
    const backbone = names.filter((name) => name.startsWith('backbone.'));
    expect([...report.loaded].sort()).toEqual([...backbone].sort());
    expect([...report.notInSource].sort()).toEqual(
      names.filter((name) => !name.startsWith('backbone.')).sort(),
    );
    for (const key of keys) {
      const ours = model.stateDict()[`backbone.${key}`]!;
      const value = ours.rank === 4 ? tf.transpose(ours, [3, 2, 0, 1]) : tf.clone(ours);
      expect(maxAbsDiff(value.dataSync(), arrays[key]!.data), key).toBe(0);
      value.dispose();
    }
    expect(maxAbsDiff(model.stateDict()['cls.4.weight']!.dataSync(), head)).toBe(0);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
