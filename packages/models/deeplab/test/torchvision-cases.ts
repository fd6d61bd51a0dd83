// The torchvision DeepLab comparisons shared by torchvision-deeplab*.test.ts.
import '@tensorflow/tfjs-backend-cpu';
import { Rng, createModel, getModelDefinition } from '@semseg/core';
import { importWeights } from '@semseg/engine';
import { nextMacrotask } from '@semseg/tooling/event-loop';
import { torchSkipReason } from '@semseg/tooling/python';
import { withoutTensorLeaks } from '@semseg/tooling/tensor-leaks';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import '../src/index.js';
import { maxAbs, maxAbsDiff, runTorch } from './torch-io.js';

/** In a test file: the cpu backend, and no test may leave tensors behind. */
export function onCpuWithoutLeaks(): void {
  withoutTensorLeaks(tf, { backend: 'cpu' });
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

/**
 * The input: odd sides that no stride divides (ceil rounding at every stride-2 layer, odd
 * bilinear resizes). 35x47 rather than 67x93 (a quarter of the pixels of both forward passes on the
 * cpu backend): layer4's map at output stride 8 is still 5x6, so its dilation-4 taps reach pixels.
 */
const H = 35;
const W = 47;

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
    // 0.5 gave max p 0.27 at 67x93 but 0.14 at 35x47; 1 gives 0.32 with max |dp| 2.6e-5 there.
    scale: 1,
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
 * PyTorch's side of case `i`: the model seeded as if its script ran alone (torch.manual_seed(0)),
 * calibrated, scaled and saved, and its probabilities on a random input.
 */
function referenceScript(c: Case, i: number): string {
  return `
torch.manual_seed(0)
SCALE = ${c.scale}
model = ${c.torch}
calibrate(model, [torch.randn(2, 3, 64, 80) for _ in range(2)])
for m in [${c.lastLayers.join(', ')}]:
    scale_(m, SCALE)
torch.save(model.state_dict(), os.path.join(D, 'model-${i}.pth'))
json.dump(sum(p.numel() for p in model.parameters()), open(os.path.join(D, 'count-${i}.json'), 'w'))
x = torch.randn(1, 3, ${H}, ${W})
with torch.no_grad():
    y = model(x)
out['${i}.x'] = nhwc(x)
out['${i}.out'] = nhwc(F.softmax(y['out'], 1))
if 'aux' in y:
    out['${i}.aux'] = nhwc(F.softmax(y['aux'], 1))
del model, y
`;
}

interface Reference {
  file: Uint8Array;
  count: number;
  x: Float32Array;
  out: Float32Array;
  aux: Float32Array | undefined;
}

/**
 * The named cases as tests (split over two files so that vitest's two workers share the heavy
 * ResNet-101 case with the rest). One python process writes the references of all of a file's
 * cases (torch's import and start cost about 1.5 s a process).
 */
export function describeTorchvisionCases(names: readonly string[]): void {
  const cases = CASES.filter((c) => names.includes(c.name));
  if (cases.length !== names.length) throw new Error(`unknown case among ${names.join(', ')}`);
  describe.skipIf(torchSkipReason() !== null)(
    'torchvision segmentation models: a torch.save file imported by name',
    () => {
      const references = new Map<string, Reference>();
      beforeAll(async () => {
        const twin = cases.some((c) => c.name.startsWith('deeplabv3plus')) ? V3PLUS_TWIN : '';
        const body = `${twin}\nout = {}\n${cases.map(referenceScript).join('')}\nsave_arrays(out)\n`;
        const read = cases.flatMap((_, i) => [`model-${i}.pth`, `count-${i}.json`]);
        const { arrays, files } = await runTorch(body, {}, read);
        cases.forEach((c, i) => {
          references.set(c.name, {
            file: files[`model-${i}.pth`]!,
            count: JSON.parse(new TextDecoder().decode(files[`count-${i}.json`])) as number,
            x: arrays[`${i}.x`]!.data,
            out: arrays[`${i}.out`]!.data,
            aux: arrays[`${i}.aux`]?.data,
          });
        });
      }, 300_000);

      for (const c of cases) {
        it(`${c.name}: ${c.aux ? 'main and auxiliary probabilities' : 'probabilities'} on ${H}x${W}, parameter count`, async () => {
          const reference = references.get(c.name)!;
          const { count } = reference;
          if (c.count > 0) expect(count).toBe(c.count);
          // A turn of the event loop between the heavy synchronous parts (creation, each forward
          // at full width on the cpu backend) keeps the worker answering vitest's RPC.
          const model = createModel(c.name, {}, { rng: new Rng(1) });
          expect(model.numParameters()).toBe(count);
          await nextMacrotask();
          const report = await importWeights(model, getModelDefinition(c.name), {
            name: 'model.pth',
            data: reference.file,
          });
          expect(report.missing).toEqual([]);
          expect(report.loaded.length).toBe(model.namedEntries().length);
          model.eval();
          await nextMacrotask();
          const x = tf.tensor4d(reference.x, [1, H, W, 3]);
          const logits = model.forward(x);
          expect(logits.shape).toEqual([1, H, W, 21]);
          const p = probabilities(logits);
          expect(maxAbs(p)).toBeGreaterThan(0.2); // far from uniform (1/21): a wrong map would show
          console.log(
            `${c.name}: max p ${maxAbs(p).toFixed(3)}, max |dp| ${maxAbsDiff(p, reference.out).toExponential(2)}, max |logit| ${maxAbs(logits.dataSync()).toFixed(2)}`,
          );
          expect(maxAbsDiff(p, reference.out)).toBeLessThan(1e-4);
          await nextMacrotask();
          const labels = tf.zeros([1, H, W], 'int32') as tf.Tensor3D;
          const outputs = model.trainingOutputs!(x, labels);
          expect(outputs.map((o) => o.weight)).toEqual(c.aux ? [1, 0.5] : [1]);
          expect(reference.aux !== undefined).toBe(c.aux);
          if (c.aux) expect(maxAbsDiff(probabilities(outputs[1]!.logits), reference.aux!)).toBeLessThan(1e-4);
          tf.dispose([x, logits, labels, ...outputs.map((o) => o.logits)]);
          model.dispose();
        }, 240_000); // ResNet-101 at width 1 took 149 s on the loaded 2-core machine
      }
    },
  );
}
