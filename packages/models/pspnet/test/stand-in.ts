// A small feature extractor standing in for the dilated ResNet: the head's tests need only two
// feature maps, and a PyTorch twin of this is three lines.
import { Module, type Rng } from '@semseg/core';
import { Conv2d } from '@semseg/layers';
import * as tf from '@tensorflow/tfjs-core';
import type { PspBackbone, PspFeatures } from '../src/index.js';

/** stem 3x3/2 -> ReLU -> layer3 3x3/2 -> ReLU -> layer4 3x3 dilation 2 -> ReLU (output stride 4). */
export class StandInBackbone extends Module implements PspBackbone {
  readonly channels: { layer3: number; layer4: number };
  readonly stem: Conv2d;
  readonly layer3: Conv2d;
  readonly layer4: Conv2d;

  constructor(rng: Rng, channels = { stem: 6, layer3: 8, layer4: 16 }) {
    super();
    this.channels = { layer3: channels.layer3, layer4: channels.layer4 };
    const conv = (inChannels: number, outChannels: number, stride: number, dilation: number) =>
      new Conv2d({ inChannels, outChannels, kernelSize: 3, stride, padding: dilation, dilation, rng });
    this.stem = this.registerModule('stem', conv(3, channels.stem, 2, 1));
    this.layer3 = this.registerModule('layer3', conv(channels.stem, channels.layer3, 2, 1));
    this.layer4 = this.registerModule('layer4', conv(channels.layer3, channels.layer4, 1, 2));
  }

  features(images: tf.Tensor4D): PspFeatures {
    return tf.tidy(() => {
      const layer3 = tf.relu(this.layer3.forward(tf.relu(this.stem.forward(images))));
      return { layer3, layer4: tf.relu(this.layer4.forward(layer3)) };
    });
  }
}

/** The same network in PyTorch (names `backbone.stem`, `backbone.layer3`, `backbone.layer4`). */
export const PY_STAND_IN = `
class StandIn(nn.Module):
    def __init__(self, c_stem=6, c3=8, c4=16):
        super().__init__()
        self.stem = nn.Conv2d(3, c_stem, 3, stride=2, padding=1)
        self.layer3 = nn.Conv2d(c_stem, c3, 3, stride=2, padding=1)
        self.layer4 = nn.Conv2d(c3, c4, 3, padding=2, dilation=2)

    def forward(self, x):
        l3 = F.relu(self.layer3(F.relu(self.stem(x))))
        return l3, F.relu(self.layer4(l3))
`;
