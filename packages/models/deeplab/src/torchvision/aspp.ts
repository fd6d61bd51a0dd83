// torchvision's DeepLabV3 head (segmentation/deeplabv3.py): ASPP with image pooling, then a 3x3
// conv and the classifier; module and tensor names as its state_dict.
import { Module, type Rng } from '@semseg/core';
import { upsampleTo } from '@semseg/fcn';
import {
  AdaptiveAvgPool2d,
  Conv2d,
  Dropout,
  Layer,
  ReLU,
  Sequential,
  TorchBatchNorm2d,
} from '@semseg/layers';
import * as tf from '@tensorflow/tfjs-core';

/** torchvision's rates at output stride 8 (DeepLabHead) and the paper's at 16. */
export const ASPP_RATES_OS8 = [12, 24, 36] as const;
export const ASPP_RATES_OS16 = [6, 12, 18] as const;

/** Conv (no bias), batch norm, ReLU: torchvision's Sequential(Conv2d, BatchNorm2d, ReLU). */
export function convBnRelu(
  inChannels: number,
  outChannels: number,
  kernelSize: 1 | 3,
  rng: Rng,
  dilation = 1,
): Layer[] {
  return [
    new Conv2d({
      inChannels,
      outChannels,
      kernelSize,
      padding: kernelSize === 3 ? dilation : 0,
      dilation,
      bias: false,
      rng,
    }),
    new TorchBatchNorm2d(outChannels),
    new ReLU(),
  ];
}

/** ASPPPooling: global average, 1x1 conv, batch norm, ReLU, bilinear back to the input's size. */
export class ASPPPooling extends Sequential {
  constructor(inChannels: number, outChannels: number, rng: Rng) {
    super([new AdaptiveAvgPool2d(1), ...convBnRelu(inChannels, outChannels, 1, rng)]);
  }

  override forward(x: tf.Tensor4D): tf.Tensor4D {
    const [, h, w] = x.shape;
    return tf.tidy(() => upsampleTo(super.forward(x), h, w));
  }
}

/** nn.ModuleList: children named `0`, `1`, ... that the owner runs itself. */
export class ModuleList<T extends Module> extends Module {
  readonly items: T[];

  constructor(items: T[]) {
    super();
    this.items = items.map((item, i) => this.registerModule(`${i}`, item));
  }
}

/**
 * Atrous spatial pyramid pooling as torchvision's ASPP: `convs` = [1x1, three 3x3 at the rates,
 * image pooling], concatenated, `project` = 1x1 conv, batch norm, ReLU, dropout 0.5.
 */
export class ASPP extends Layer {
  readonly convs: ModuleList<Layer>;
  readonly project: Sequential;

  constructor(inChannels: number, rates: readonly number[], rng: Rng, outChannels = 256) {
    super();
    const branches: Layer[] = [
      new Sequential(convBnRelu(inChannels, outChannels, 1, rng)),
      ...rates.map((rate) => new Sequential(convBnRelu(inChannels, outChannels, 3, rng, rate))),
      new ASPPPooling(inChannels, outChannels, rng),
    ];
    this.convs = this.registerModule('convs', new ModuleList(branches));
    this.project = this.registerModule(
      'project',
      new Sequential([
        ...convBnRelu(branches.length * outChannels, outChannels, 1, rng),
        new Dropout(0.5, rng.derive('dropout')),
      ]),
    );
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() =>
      this.project.forward(
        tf.concat(
          this.convs.items.map((b) => b.forward(x)),
          3,
        ) as tf.Tensor4D,
      ),
    );
  }
}

/** torchvision's DeepLabHead: ASPP, 3x3 conv 256 (no bias), batch norm, ReLU, 1x1 to the classes. */
export class DeepLabHead extends Sequential {
  constructor(inChannels: number, numClasses: number, rng: Rng, rates: readonly number[] = ASPP_RATES_OS8) {
    super([
      new ASPP(inChannels, rates, rng),
      ...convBnRelu(256, 256, 3, rng),
      new Conv2d({ inChannels: 256, outChannels: numClasses, kernelSize: 1, rng }),
    ]);
  }
}
