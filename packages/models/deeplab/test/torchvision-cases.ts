// The torchvision DeepLab comparisons shared by torchvision-deeplab*.test.ts.
import '@tensorflow/tfjs-backend-cpu';
import { Rng, createModel, getModelDefinition } from '@semseg/core';
import { importWeights } from '@semseg/engine';
import { torchSkipReason } from '@semseg/tooling/python';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import '../src/index.js';
import { maxAbs, maxAbsDiff, runTorch } from './torch-io.js';

/** In a test file: the cpu backend, and no test may leave tensors behind. */
export function onCpuWithoutLeaks(): void {
  let baseline = 0;
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  beforeEach(() => {
    baseline = tf.memory().numTensors;
  });
  afterEach(() => {
    expect(tf.memory().numTensors).toBe(baseline);
  });
}

export function probabilities(logits: tf.Tensor4D): Float32Array {
  const p = tf.tidy(() => tf.softmax(logits));
  const out = p.dataSync() as Float32Array;
  p.dispose();
  return out;
}

/** PyTorch's DeepLab v3+ twin: torchvision's ResNet and ASPP, the paper's decoder, our names. */
const V3PLUS_TWIN = `
from torchvision.models.segmentation.deeplabv3 import ASPP
from torchvision.models._utils import IntermediateLayerGetter

def cbr(i, o, k):
    return [nn.Conv2d(i, o, k, padding=k // 2, bias=False), nn.BatchNorm2d(o), nn.ReLU()]

class Head(nn.Module):
    def __init__(self, high, low, classes, rates):
        super().__init__()
        self.aspp = ASPP(high, rates)
        self.reduce = nn.Sequential(*cbr(low, 48, 1))
        self.fuse = nn.Sequential(*cbr(304, 256, 3), *cbr(256, 256, 3))
        self.score = nn.Conv2d(256, classes, 1)
    def forward(self, low, high):
        x = F.interpolate(self.aspp(high), size=low.shape[-2:], mode='bilinear', align_corners=False)
        return self.score(self.fuse(torch.cat([x, self.reduce(low)], 1)))

class V3Plus(nn.Module):
    def __init__(self, classes):
        super().__init__()
        r = torchvision.models.resnet50(weights=None, replace_stride_with_dilation=[False, False, True])
        self.backbone = IntermediateLayerGetter(r, {'layer1': 'low', 'layer4': 'out'})
        self.classifier = Head(2048, 256, classes, [6, 12, 18])
    def forward(self, x):
        f = self.backbone(x)
        return {'out': F.interpolate(self.classifier(f['low'], f['out']), size=x.shape[-2:], mode='bilinear', align_corners=False)}
`;

interface Case {
  name: string;
  /** Python building the reference (its state_dict keys are what ours must import). */
  torch: string;
  /** Python modules whose weights are scaled so the probabilities are far from uniform. */
  lastLayers: string[];
  aux: boolean;
  count: number;
  /**
   * How much the last layers are scaled: enough for probabilities far from uniform, little enough
   * that float32 rounding through 50-101 layers (a few 1e-6 relative) stays under 1e-4 in them.
   */
  scale: number;
}

const CASES: Case[] = [
  {
    name: 'deeplabv3-resnet50',
    torch:
      'torchvision.models.segmentation.deeplabv3_resnet50(weights=None, weights_backbone=None, num_classes=21, aux_loss=True)',
    lastLayers: ['model.classifier[4]', 'model.aux_classifier[4]'],
    aux: true,
    count: 42004074,
    scale: 2,
  },
  {
    name: 'deeplabv3-resnet101',
    torch:
      'torchvision.models.segmentation.deeplabv3_resnet101(weights=None, weights_backbone=None, num_classes=21, aux_loss=True)',
    lastLayers: ['model.classifier[4]', 'model.aux_classifier[4]'],
    aux: true,
    count: 60996202,
    scale: 0.5,
  },
  {
    name: 'deeplabv3-mobilenetv3-large',
    torch:
      'torchvision.models.segmentation.deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=21, aux_loss=True)',
    lastLayers: ['model.classifier[4]', 'model.aux_classifier[4]'],
    aux: true,
    count: 11029328,
    scale: 4,
  },
  {
    name: 'lraspp-mobilenetv3-large',
    torch:
      'torchvision.models.segmentation.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=21)',
    lastLayers: ['model.classifier.low_classifier', 'model.classifier.high_classifier'],
    aux: false,
    count: 3221538,
    scale: 4,
  },
  {
    name: 'deeplabv3plus-resnet50',
    torch: 'V3Plus(21)',
    lastLayers: ['model.classifier.score'],
    aux: false,
    count: 0, // no torchvision model: the twin's count is checked instead
    scale: 1,
  },
];

/**
 * The named cases as tests (split over two files so that vitest's two workers share the heavy
 * ResNet-101 case with the rest).
 */
export function describeTorchvisionCases(names: readonly string[]): void {
  const cases = CASES.filter((c) => names.includes(c.name));
  if (cases.length !== names.length) throw new Error(`unknown case among ${names.join(', ')}`);
  describe.skipIf(torchSkipReason() !== null)(
    'torchvision segmentation models: a torch.save file imported by name',
    () => {
      for (const c of cases) {
        it(`${c.name}: ${c.aux ? 'main and auxiliary probabilities' : 'probabilities'} on 67x93, parameter count`, async () => {
          const { arrays, files } = await runTorch(
            `
${c.name.startsWith('deeplabv3plus') ? V3PLUS_TWIN : ''}
SCALE = ${c.scale}
model = ${c.torch}
calibrate(model, [torch.randn(2, 3, 64, 80) for _ in range(2)])
for m in [${c.lastLayers.join(', ')}]:
    scale_(m, SCALE)
torch.save(model.state_dict(), os.path.join(D, 'model.pth'))
json.dump(sum(p.numel() for p in model.parameters()), open(os.path.join(D, 'count.json'), 'w'))
x = torch.randn(1, 3, 67, 93)
with torch.no_grad():
    y = model(x)
out = {'x': nhwc(x), 'out': nhwc(F.softmax(y['out'], 1))}
if 'aux' in y:
    out['aux'] = nhwc(F.softmax(y['aux'], 1))
save_arrays(out)
`,
            {},
            ['model.pth', 'count.json'],
          );
          const count = JSON.parse(new TextDecoder().decode(files['count.json'])) as number;
          if (c.count > 0) expect(count).toBe(c.count);
          const model = createModel(c.name, {}, { rng: new Rng(1) });
          expect(model.numParameters()).toBe(count);
          const report = await importWeights(model, getModelDefinition(c.name), {
            name: 'model.pth',
            data: files['model.pth']!,
          });
          expect(report.missing).toEqual([]);
          expect(report.loaded.length).toBe(model.namedEntries().length);
          model.eval();
          const x = tf.tensor4d(arrays.x!.data, [1, 67, 93, 3]);
          const logits = model.forward(x);
          expect(logits.shape).toEqual([1, 67, 93, 21]);
          const p = probabilities(logits);
          expect(maxAbs(p)).toBeGreaterThan(0.2); // far from uniform (1/21): a wrong map would show
          console.log(
            `${c.name}: max p ${maxAbs(p).toFixed(3)}, max |dp| ${maxAbsDiff(p, arrays.out!.data).toExponential(2)}, max |logit| ${maxAbs(logits.dataSync()).toFixed(2)}`,
          );
          expect(maxAbsDiff(p, arrays.out!.data)).toBeLessThan(1e-4);
          const labels = tf.zeros([1, 67, 93], 'int32') as tf.Tensor3D;
          const outputs = model.trainingOutputs!(x, labels);
          expect(outputs.map((o) => o.weight)).toEqual(c.aux ? [1, 0.5] : [1]);
          if (c.aux)
            expect(maxAbsDiff(probabilities(outputs[1]!.logits), arrays.aux!.data)).toBeLessThan(1e-4);
          tf.dispose([x, logits, labels, ...outputs.map((o) => o.logits)]);
          model.dispose();
        }, 240_000); // ResNet-101 at width 1 took 149 s on the loaded 2-core machine
      }
    },
  );
}
