import {
  ConfigError,
  Module,
  type Normalization,
  type Rng,
  type SegmentationModel,
  type TrainingOutput,
} from '@semseg/core';
import { Conv2d, Dropout, normal, zeros } from '@semseg/layers';
import { VGG16, scaledChannels } from '@semseg/vgg16';
import * as tf from '@tensorflow/tfjs-core';
import { cropTopLeft, padLabels } from './caffe-ops.js';
import {
  type DilatedNetConfig,
  type ResolvedDilatedNetConfig,
  dilatedNetConfigSchema,
  parseConfig,
} from './config.js';
import { ContextModule } from './context.js';

/** The released nets reflect the input by 186 pixels on each side (fyu/dilation's margin). */
export const DILATION_MARGIN = 186;

/** fyu/dilation's datasets/pascal_voc.json: BGR mean 102.93, 111.36, 116.52 on 0..255. */
const DILATION_NORMALIZATION: Normalization = {
  mean: [116.52, 111.36, 102.93],
  std: [1, 1, 1],
  scale: 255,
  channelOrder: 'bgr',
};

/** Reflection padding of any size (tfjs's mirrorPad needs pads smaller than the map: repeat it). */
export function reflectPad(x: tf.Tensor4D, pads: [[number, number], [number, number]]): tf.Tensor4D {
  return tf.tidy(() => {
    let out = x;
    let [[top, bottom], [left, right]] = pads;
    while (top > 0 || bottom > 0 || left > 0 || right > 0) {
      const [, h, w] = out.shape;
      const t = Math.min(top, h - 1);
      const b = Math.min(bottom, h - 1);
      const l = Math.min(left, w - 1);
      const r = Math.min(right, w - 1);
      if (h < 2 && (top > 0 || bottom > 0)) throw new ConfigError('cannot reflect a map of height 1');
      if (w < 2 && (left > 0 || right > 0)) throw new ConfigError('cannot reflect a map of width 1');
      out = tf.mirrorPad(
        out,
        [
          [0, 0],
          [t, b],
          [l, r],
          [0, 0],
        ],
        'reflect',
      );
      top -= t;
      bottom -= b;
      left -= l;
      right -= r;
    }
    return out === x ? tf.clone(x) : out;
  });
}

/**
 * The released upsampling: a fixed bilinear Deconvolution, kernel 16, stride 8, pad 4, one group
 * per class (fyu/dilation `make_upsample`), written as the [8n, n] matrix it applies per axis.
 */
export function deconvUpsampleMatrix(n: number): Float32Array {
  const factor = 8;
  const kernel = 16;
  const pad = 4;
  const centre = (kernel - 1) / 2;
  const out = 8 * n;
  const m = new Float32Array(out * n);
  for (let j = 0; j < out; j++) {
    for (let i = 0; i < n; i++) {
      const tap = j + pad - factor * i;
      if (tap >= 0 && tap < kernel) m[j * n + i] = 1 - Math.abs(tap - centre) / factor;
    }
  }
  return m;
}

function upsampleX8(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    const rows = tf.matMul(
      tf.tensor2d(deconvUpsampleMatrix(h), [8 * h, h]),
      tf.reshape(tf.transpose(x, [1, 0, 2, 3]), [h, n * w * c]),
    );
    const y = tf.transpose(tf.reshape(rows, [8 * h, n, w, c]), [1, 2, 0, 3]); // n, w, 8h, c
    const cols = tf.matMul(
      tf.tensor2d(deconvUpsampleMatrix(w), [8 * w, w]),
      tf.reshape(tf.transpose(y, [1, 0, 2, 3]), [w, n * 8 * h * c]),
    );
    return tf.transpose(tf.reshape(cols, [8 * w, n, 8 * h, c]), [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/**
 * DilatedNet (Yu & Koltun, ICLR 2016): the front-end is VGG16 with pool4 and pool5 removed, conv5
 * dilated 2, fc6 7x7 dilated 4 (4096), fc7 1x1 (4096), dropout 0.5, `final` 1x1 to the classes
 * (gaussian std 0.001), output stride 8; then optionally the context module (basic or large,
 * identity-initialised) on the scores; then the released fixed bilinear x8 deconvolution, cropped
 * to the input. Pixel i of the score map is centred on input pixel 8i + 3.5 in both alignments,
 * which the deconvolution (kernel 16, pad 4) maps back exactly. Parameters: `backbone.conv*`,
 * `fc6`, `fc7`, `final`, `context.ctx_*`.
 */
export class DilatedNet extends Module implements SegmentationModel {
  readonly config: ResolvedDilatedNetConfig;
  readonly numClasses: number;
  readonly backbone: VGG16;
  readonly fc6: Conv2d;
  readonly fc7: Conv2d;
  readonly final: Conv2d;
  readonly context: ContextModule | null;
  private readonly drops: [Dropout, Dropout];

  constructor(config: DilatedNetConfig, rng: Rng) {
    super();
    const c = parseConfig(dilatedNetConfigSchema, config, 'dilatednet');
    this.config = c;
    this.numClasses = c.numClasses;
    const reference = c.alignment === 'reference';
    this.backbone = this.registerModule(
      'backbone',
      new VGG16(
        {
          fc: 'none',
          pool: '2x2',
          ceilMode: true,
          outputStride: 8,
          unstridedPool: 'none',
          convPadding: reference ? 'valid' : 'same',
          width: c.width,
        },
        rng.derive('backbone'),
      ),
    );
    const channels = scaledChannels(4096, c.width);
    const conv = (name: string, cin: number, cout: number, kernel: number, dilation: number, std: number) =>
      this.registerModule(
        name,
        new Conv2d({
          inChannels: cin,
          outChannels: cout,
          kernelSize: kernel,
          dilation,
          padding: reference ? 0 : (dilation * (kernel - 1)) / 2,
          rng: rng.derive(name),
          weightInit: normal(std),
          biasInit: zeros(),
        }),
      );
    this.fc6 = conv('fc6', this.backbone.channels.pool5, channels, 7, 4, 0.01);
    const drop6 = this.registerModule('drop6', new Dropout(c.dropout, rng.derive('drop6')));
    this.fc7 = conv('fc7', channels, channels, 1, 1, 0.01);
    const drop7 = this.registerModule('drop7', new Dropout(c.dropout, rng.derive('drop7')));
    this.drops = [drop6, drop7];
    this.final = conv('final', channels, c.numClasses, 1, 1, 0.001);
    this.context =
      c.context === 'none'
        ? null
        : this.registerModule(
            'context',
            new ContextModule({ classes: c.numClasses, variant: c.context, rng: rng.derive('context') }),
          );
    if (!c.trainFrontEnd) {
      for (const prefix of ['backbone.', 'fc6.', 'fc7.', 'final.']) this.setTrainable(false, prefix);
    }
  }

  get normalization(): Normalization {
    return DILATION_NORMALIZATION;
  }

  /** Scores at stride 8 (front-end, then the context module): ceil(H / 8) x ceil(W / 8). */
  scores(images: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [, h, w] = images.shape;
      const padH = (8 - (h % 8)) % 8;
      const padW = (8 - (w % 8)) % 8;
      let x = images;
      if (this.config.alignment === 'reference') {
        const m = DILATION_MARGIN;
        x = reflectPad(images, [
          [m, m + padH],
          [m, m + padW],
        ]);
      }
      const { pool3, pool4, pool5 } = this.backbone.forward(x);
      tf.dispose([pool3, pool4]);
      const f6 = this.drops[0].forward(this.fc6.forward(pool5, { activation: 'relu' }));
      const f7 = this.drops[1].forward(this.fc7.forward(f6, { activation: 'relu' }));
      const scores = this.final.forward(f7);
      return this.context ? this.context.forward(scores) : scores;
    });
  }

  forward(images: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [, h, w] = images.shape;
      return cropTopLeft(upsampleX8(this.scores(images)), h, w);
    });
  }

  /**
   * The released training: scores against labels sampled every 8 pixels (`label_slice` stride 8);
   * with `lossResolution: 'full'`, the upsampled logits against the full labels.
   */
  trainingOutputs(images: tf.Tensor4D, labels: tf.Tensor3D): TrainingOutput[] {
    return tf.tidy(() => {
      const [, h, w] = images.shape;
      const scores = this.scores(images);
      if (this.config.lossResolution === 'full') {
        return [{ logits: cropTopLeft(upsampleX8(scores), h, w), labels: tf.clone(labels), weight: 1 }];
      }
      const [, fh, fw] = scores.shape;
      const padded = padLabels(labels, [8 * fh, 8 * fw]);
      // Gathers, not stridedSlice: the wasm backend's int32 stridedSlice returns float bit patterns.
      const every8 = (n: number) =>
        tf.tensor1d(
          Int32Array.from({ length: n }, (_, i) => 8 * i),
          'int32',
        );
      const sampled = tf.gather(tf.gather(padded, every8(fh), 1), every8(fw), 2) as tf.Tensor3D;
      return [{ logits: scores, labels: sampled, weight: 1 }];
    }) as unknown as TrainingOutput[];
  }
}
