// Width-reduced DeepLabV3 and DeepLab v3+ on ResNet-50 fit one synthetic batch through the Trainer,
// scored in eval mode with the batch-norm statistics settled on the batch (see
// overfit-torchvision.ts). wasm backend: @semseg/layers' convolutions train there.
import { beforeAll, describe, it } from 'vitest';
import '../src/index.js';
import { overfitTorchvision } from './overfit-torchvision.js';
import { useWasm } from './wasm.js';

beforeAll(async () => {
  await useWasm();
});

describe('width-reduced ResNet-50 DeepLab models learn (eval mode)', () => {
  it('deeplabv3-resnet50 width 1/16 (output stride 8), main + auxiliary loss', async () => {
    await overfitTorchvision({
      name: 'deeplabv3-resnet50',
      config: { width: 1 / 16 },
      size: 48,
      lr: 1e-2,
      maxSteps: 80,
      seed: 5,
    });
  }, 300_000);

  it('deeplabv3plus-resnet50 width 1/16 (output stride 16, decoder on layer1)', async () => {
    await overfitTorchvision({
      name: 'deeplabv3plus-resnet50',
      config: { width: 1 / 16 },
      size: 48,
      lr: 1e-2,
      maxSteps: 80,
      seed: 6,
    });
  }, 300_000);
});
