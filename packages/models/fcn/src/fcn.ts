import { ConfigError, Module, type Normalization, type Rng, type SegmentationModel } from '@semseg/core';
import { Conv2d, ConvTranspose2d, bilinear, zeros } from '@semseg/layers';
import { VGG16, type VGG16Config } from '@semseg/vgg16';
import * as tf from '@tensorflow/tfjs-core';
import { type FcnConfig, type FcnVariant, type ResolvedFcnConfig, fcnConfigSchema } from './config.js';
import { type CoordMap, INPUT_MAP, cropOffset, throughConv, throughDeconv } from './coord-map.js';

/** An upsampling layer and the crop that aligns what it is added to (or, last, the input). */
interface Stage {
  upsample: ConvTranspose2d;
  /** Offset of the skip scores inside the upsampled map's frame (Caffe crop), or of the output. */
  cropOffset: number;
}

function crop(x: tf.Tensor4D, offset: number, height: number, width: number, what: string): tf.Tensor4D {
  const [, h, w] = x.shape;
  if (offset + height > h || offset + width > w) {
    throw new ConfigError(
      `FCN: ${what} of ${h}x${w} cannot be cropped to ${height}x${width} at offset ${offset}`,
    );
  }
  return tf.slice(x, [0, offset, offset, 0], [-1, height, width, -1]);
}

/**
 * FCN-32s/16s/8s (Long, Shelhamer & Darrell 2015): VGG16 to fc7, a 1x1 `score_fr`, and for 16s/8s
 * 1x1 scores on pool4/pool3 fused by addition after x2 transposed-conv upsampling, then x32/x16/x8
 * upsampling to the input size. Score layers start at zero and upsampling layers bilinear (fixed
 * by default), as the reference. Parameter names follow the reference's layer names:
 * `backbone.*`, `score_fr`, `upscore2`, `score_pool4`, `upscore_pool4`, `score_pool3`, `upscore8`
 * (16s: `upscore16`; 32s: `upscore`).
 */
export class FCN extends Module implements SegmentationModel {
  readonly variant: FcnVariant;
  readonly config: ResolvedFcnConfig;
  readonly numClasses: number;
  readonly backbone: VGG16;
  readonly scoreFr: Conv2d;
  readonly scorePool4: Conv2d | null = null;
  readonly scorePool3: Conv2d | null = null;
  /** In order: to pool4's frame (16s/8s), to pool3's frame (8s), to the input. */
  readonly stages: Stage[];

  constructor(variant: FcnVariant, config: FcnConfig, rng: Rng) {
    super();
    const parsed = fcnConfigSchema.safeParse(config);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
      throw new ConfigError(`invalid FCN config: ${issues.join('; ')}`);
    }
    const c = parsed.data;
    this.variant = variant;
    this.config = c;
    this.numClasses = c.numClasses;
    const reference = c.alignment === 'reference';
    const backboneConfig: VGG16Config = {
      fc: '7x7',
      outputStride: 32,
      ceilMode: true,
      conv1Padding: reference ? 100 : 1,
      fc6Padding: reference ? 'valid' : 'same',
      dropout: c.dropout,
      dropoutMode: c.dropoutMode,
      width: c.width,
      batchNorm: c.batchNorm,
    };
    this.backbone = this.registerModule('backbone', new VGG16(backboneConfig, rng.derive('backbone')));
    const classes = c.numClasses;
    const score = (name: string, inChannels: number) =>
      this.registerModule(
        name,
        new Conv2d({
          inChannels,
          outChannels: classes,
          kernelSize: 1,
          rng,
          weightInit: zeros(),
          biasInit: zeros(),
        }),
      );
    const upsample = (name: string, factor: number) =>
      this.registerModule(
        name,
        new ConvTranspose2d({
          inChannels: classes,
          outChannels: classes,
          kernelSize: 2 * factor,
          stride: factor,
          padding: reference ? 0 : factor / 2,
          bias: false,
          rng,
          weightInit: bilinear(),
          weightOptions: { trainable: c.learnableUpsampling },
        }),
      );

    // Where each map's pixels sit in the input (Caffe's coord_map), to compute the crops.
    const maps = backboneMaps(c.alignment);
    this.scoreFr = score('score_fr', this.backbone.channels.fc7);
    const stages: Stage[] = [];
    let coarse: CoordMap = maps.fc7;
    const upsampled = (factor: number) =>
      throughDeconv(coarse, 2 * factor, factor, reference ? 0 : factor / 2);
    // A skip stage: upsample x2, crop the skip's scores to the result (Caffe: crop(score_poolN, upscore)).
    const addSkipStage = (name: string, skipMap: CoordMap) => {
      const up = upsampled(2);
      stages.push({ upsample: upsample(name, 2), cropOffset: cropOffset(skipMap, up) });
      coarse = up;
    };
    // The last stage: upsample to the input's scale and crop to the input (Caffe: crop(upscore, data)).
    const addFinalStage = (name: string, factor: number) => {
      stages.push({ upsample: upsample(name, factor), cropOffset: cropOffset(upsampled(factor), INPUT_MAP) });
    };
    if (variant === '32s') {
      addFinalStage('upscore', 32);
    } else {
      addSkipStage('upscore2', maps.pool4);
      this.scorePool4 = score('score_pool4', this.backbone.channels.pool4);
      if (variant === '16s') {
        addFinalStage('upscore16', 16);
      } else {
        addSkipStage('upscore_pool4', maps.pool3);
        this.scorePool3 = score('score_pool3', this.backbone.channels.pool3);
        addFinalStage('upscore8', 8);
      }
    }
    this.stages = stages;
  }

  get normalization(): Normalization {
    return this.backbone.normalization;
  }

  /** Logits N x H x W x numClasses at the input's size. */
  forward(images: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [, height, width] = images.shape;
      let x = images;
      if (this.config.alignment === 'compact') {
        const padH = (32 - (height % 32)) % 32;
        const padW = (32 - (width % 32)) % 32;
        if (padH > 0 || padW > 0)
          x = tf.pad(images, [
            [0, 0],
            [0, padH],
            [0, padW],
            [0, 0],
          ]);
      }
      const features = this.backbone.forward(x);
      let scores = this.scoreFr.forward(features.fc7!);
      const skips: Array<[Conv2d | null, tf.Tensor4D, number]> = [
        [this.scorePool4, features.pool4, 0.01],
        [this.scorePool3, features.pool3, 0.0001],
      ];
      this.stages.forEach((stage, i) => {
        const up = stage.upsample.forward(scores);
        const last = i === this.stages.length - 1;
        if (last) {
          scores = crop(up, stage.cropOffset, height, width, 'the upsampled output');
          return;
        }
        const [scoreLayer, pool, atOnceScale] = skips[i]!;
        const skipInput = this.config.atOnce ? (tf.mul(pool, atOnceScale) as tf.Tensor4D) : pool;
        const skip = scoreLayer!.forward(skipInput);
        scores = tf.add(
          up,
          crop(skip, stage.cropOffset, up.shape[1], up.shape[2], `the pool${4 - i} scores`),
        ) as tf.Tensor4D;
      });
      return scores;
    });
  }

  /** Loads ImageNet VGG16 weights into the backbone (see @semseg/vgg16's loadWeights). */
  loadBackboneWeights(source: Parameters<VGG16['loadWeights']>[0]): ReturnType<VGG16['loadWeights']> {
    return this.backbone.loadWeights(source);
  }
}

/** Input-coordinate maps of pool3, pool4 and fc7 for the VGG16 that FCN builds. */
function backboneMaps(alignment: ResolvedFcnConfig['alignment']): {
  pool3: CoordMap;
  pool4: CoordMap;
  fc7: CoordMap;
} {
  const reference = alignment === 'reference';
  // conv1_1 (3x3, padding 100 or 1); every other conv is 3x3 padding 1 and does not move the map.
  let map = throughConv(INPUT_MAP, 3, 1, reference ? 100 : 1);
  const pools: CoordMap[] = [];
  for (let i = 0; i < 5; i++) {
    map = throughConv(map, 2, 2, 0);
    pools.push(map);
  }
  const fc7 = throughConv(pools[4]!, 7, 1, reference ? 0 : 3);
  return { pool3: pools[2]!, pool4: pools[3]!, fc7 };
}
