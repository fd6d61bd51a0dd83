// torchvision's DeepLabV3 (ResNet-50/101, MobileNetV3-Large) and LR-ASPP against torchvision 0.14:
// its state_dict, written by torch.save, imports by name and gives its probabilities (auxiliary head
// included); DeepLab v3+ against a PyTorch twin built from torchvision's ResNet and ASPP; parameter
// counts. (Width-reduced models overfit one batch in overfit-mobilenet.test.ts and overfit-resnet.test.ts.)
import '@tensorflow/tfjs-backend-cpu';
import { Rng, type SegmentationModel, createModel, getModelDefinition } from '@semseg/core';
import { exportWeights } from '@semseg/engine';
import { torchSkipReason } from '@semseg/tooling/python';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import '../src/index.js';
import { maxAbsDiff, runTorch } from './torch-io.js';
import { describeTorchvisionCases, onCpuWithoutLeaks, probabilities } from './torchvision-cases.js';

onCpuWithoutLeaks();
describeTorchvisionCases([
  'deeplabv3-resnet50',
  'deeplabv3-mobilenetv3-large',
  'lraspp-mobilenetv3-large',
  'deeplabv3plus-resnet50',
]);

describe.skipIf(torchSkipReason() !== null)('export back to torchvision', () => {
  it('lraspp-mobilenetv3-large exported as .pth loads into torchvision with strict=True and gives our probabilities', async () => {
    const model = createModel('lraspp-mobilenetv3-large', {}, { rng: new Rng(6) });
    model.eval();
    const x = tf.randomNormal([1, 67, 93, 3], 0, 1, 'float32', 6) as tf.Tensor4D;
    const logits = model.forward(x);
    const ours = probabilities(logits);
    const file = await exportWeights(model, getModelDefinition('lraspp-mobilenetv3-large'), { to: 'pth' });
    const { arrays } = await runTorch(
      `
model = torchvision.models.segmentation.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=21)
model.load_state_dict(torch.load(os.path.join(D, 'ours.pth')), strict=True)
model.eval()
with torch.no_grad():
    y = model(nchw(load_arrays()['x']))['out']
save_arrays({'out': nhwc(F.softmax(y, 1))})
`,
      { x: { shape: [1, 67, 93, 3], data: Float32Array.from(x.dataSync()) } },
      [],
      { 'ours.pth': file },
    );
    expect(maxAbsDiff(ours, arrays.out!.data)).toBeLessThan(1e-4);
    tf.dispose([x, logits]);
    model.dispose();
  }, 60_000);
});

describe('DeepLab v3+ options', () => {
  it('output stride 8 dilates layer3 and layer4 (rates 12, 24, 36) and keeps the names', () => {
    const make = (outputStride: 8 | 16) =>
      createModel(
        'deeplabv3plus-resnet101',
        { outputStride, width: 1 / 32, numClasses: 3 },
        { rng: new Rng(0) },
      );
    const os8 = make(8);
    const os16 = make(16);
    expect(os8.namedEntries().map((e) => e.name)).toEqual(os16.namedEntries().map((e) => e.name));
    const strides = (m: SegmentationModel) =>
      (m as unknown as { backbone: { strides: unknown } }).backbone.strides;
    expect(strides(os8)).toEqual({ layer1: 4, layer2: 8, layer3: 8, layer4: 8 });
    expect(strides(os16)).toEqual({ layer1: 4, layer2: 8, layer3: 16, layer4: 16 });
    os8.eval();
    const x = tf.zeros([1, 35, 47, 3]) as tf.Tensor4D;
    const y = os8.forward(x);
    expect(y.shape).toEqual([1, 35, 47, 3]);
    tf.dispose([x, y]);
    os8.dispose();
    os16.dispose();
  });
});
