import { ConfigError, IMAGENET_NORMALIZATION, Module, type Normalization, type Rng } from '@semseg/core';
import { Conv2d, MaxPool2d, Sequential, type TorchBatchNorm2d, torchDefault } from '@semseg/layers';
import * as tf from '@tensorflow/tfjs-core';
import {
  BasicBlock,
  type Block,
  type BlockContext,
  Bottleneck,
  batchNorm,
  conv,
  downsample,
} from './blocks.js';
import {
  RESNET_LAYERS,
  type ResNetConfig,
  type ResolvedResNetConfig,
  resnetConfigSchema,
  scaledChannels,
} from './config.js';

/** The four stages' outputs (what torchvision's IntermediateLayerGetter returns by name). */
export interface ResNetFeatures {
  layer1: tf.Tensor4D;
  layer2: tf.Tensor4D;
  layer3: tf.Tensor4D;
  layer4: tf.Tensor4D;
}

export type ResNetStage = keyof ResNetFeatures;
const STAGES: readonly ResNetStage[] = ['layer1', 'layer2', 'layer3', 'layer4'];

/**
 * ResNet-18/34/50/101/152 exactly as torchvision 0.14 builds it: conv1 7x7/2, bn1, relu, maxpool
 * 3x3/2, layer1..layer4 of BasicBlocks or Bottlenecks (stride on the 3x3), downsample branches,
 * `replace_stride_with_dilation`, and optionally avgpool + fc. Parameter and buffer names are
 * torchvision's state_dict keys (`conv1.weight`, `layer1.0.downsample.1.running_mean`, `fc.bias`),
 * so its files load by name; `fc` is held as a 1x1 conv (PyTorch [out, in] -> `linear-as-conv`).
 */
export class ResNet extends Module {
  readonly config: ResolvedResNetConfig;
  readonly conv1: Conv2d;
  readonly bn1: TorchBatchNorm2d;
  readonly maxpool: MaxPool2d;
  readonly stages: Record<ResNetStage, Sequential>;
  readonly fc: Conv2d | null;
  /** Output channels of each stage. */
  readonly channels: Record<ResNetStage, number>;
  /** Input pixels per output pixel of each stage (4, 8, 16, 32 without dilation). */
  readonly strides: Record<ResNetStage, number>;

  constructor(config: ResNetConfig, rng: Rng) {
    super();
    const parsed = resnetConfigSchema.safeParse(config);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`);
      throw new ConfigError(`invalid ResNet config: ${issues.join('; ')}`);
    }
    const c = parsed.data;
    this.config = c;
    const bottleneck = c.depth >= 50;
    if (!bottleneck && c.replaceStrideWithDilation.some(Boolean)) {
      // torchvision: "Dilation > 1 not supported in BasicBlock".
      throw new ConfigError(
        `ResNet-${c.depth}: replaceStrideWithDilation needs Bottleneck blocks (ResNet-50 and deeper)`,
      );
    }
    const ctx: BlockContext = { rng, frozenBatchNorm: c.frozenBatchNorm };
    const width = (n: number) => scaledChannels(n, c.width);
    let inChannels = width(64);
    this.conv1 = this.registerModule('conv1', conv(3, inChannels, 7, 2, 1, ctx));
    this.bn1 = this.registerModule('bn1', batchNorm(inChannels, ctx));
    this.maxpool = new MaxPool2d({ kernelSize: 3, stride: 2, padding: 1 });
    const expansion = bottleneck ? Bottleneck.expansion : BasicBlock.expansion;
    let dilation = 1;
    let stride = 4;
    const stages = {} as Record<ResNetStage, Sequential>;
    const channels = {} as Record<ResNetStage, number>;
    const strides = {} as Record<ResNetStage, number>;
    STAGES.forEach((name, i) => {
      const planes = width(64 * 2 ** i);
      let blockStride = i === 0 ? 1 : 2;
      // torchvision's _make_layer: the first block keeps the previous dilation.
      const previousDilation = dilation;
      if (i > 0 && c.replaceStrideWithDilation[i - 1]) {
        dilation *= blockStride;
        blockStride = 1;
      }
      stride *= blockStride;
      const out = planes * expansion;
      const blocks: Block[] = [];
      for (let b = 0; b < RESNET_LAYERS[c.depth][i]!; b++) {
        const first = b === 0;
        const spec = {
          inChannels: first ? inChannels : out,
          planes,
          stride: first ? blockStride : 1,
          dilation: first ? previousDilation : dilation,
          downsample:
            first && (blockStride !== 1 || inChannels !== out)
              ? downsample(inChannels, out, blockStride, ctx)
              : null,
        };
        blocks.push(bottleneck ? new Bottleneck(spec, ctx) : new BasicBlock(spec, ctx));
      }
      inChannels = out;
      stages[name] = this.registerModule(name, new Sequential(blocks));
      channels[name] = out;
      strides[name] = stride;
    });
    this.stages = stages;
    this.channels = channels;
    this.strides = strides;
    // nn.Linear's default init (kaiming_uniform a=sqrt(5)): U(+-1/sqrt(fanIn)).
    this.fc =
      c.numClasses === null
        ? null
        : this.registerModule(
            'fc',
            new Conv2d({
              inChannels,
              outChannels: c.numClasses,
              kernelSize: 1,
              rng,
              weightInit: torchDefault(),
            }),
          );
  }

  /** torchvision's ImageNet preprocessing: RGB in [0, 1], ImageNet mean and std. */
  get normalization(): Normalization {
    return IMAGENET_NORMALIZATION;
  }

  /** The four stages' outputs for NHWC input normalised as `normalization` says. */
  features(images: tf.Tensor4D, upTo: ResNetStage = 'layer4'): Partial<ResNetFeatures> {
    return tf.tidy(() => {
      let x = this.maxpool.forward(tf.relu(this.bn1.forward(this.conv1.forward(images))));
      const out: Partial<ResNetFeatures> = {};
      for (const name of STAGES) {
        x = this.stages[name].forward(x);
        out[name] = x;
        if (name === upTo) break;
      }
      return out;
    });
  }

  /** ImageNet logits N x 1 x 1 x numClasses (avgpool, fc); needs `numClasses`. */
  forward(images: tf.Tensor4D): tf.Tensor4D {
    if (!this.fc)
      throw new ConfigError('ResNet.forward needs a classifier: set numClasses, or use features()');
    const fc = this.fc;
    return tf.tidy(() => fc.forward(tf.mean(this.features(images).layer4!, [1, 2], true) as tf.Tensor4D));
  }
}
