// What torchvision's segmentation models share (torchvision/models/segmentation/_utils.py and
// fcn.py): a backbone, a `classifier` head, an optional `aux_classifier`, logits upsampled to the
// input with bilinear interpolation (align_corners=False), ImageNet normalisation.
import {
  IMAGENET_NORMALIZATION,
  Module,
  type Normalization,
  Rng,
  type SegmentationModel,
  type TrainingOutput,
  type WeightNameMap,
} from '@semseg/core';
import { Conv2d, Dropout, ReLU, Sequential, TorchBatchNorm2d, resize, torchNameMap } from '@semseg/layers';
import * as tf from '@tensorflow/tfjs-core';

/** Logits at the heads' resolution: the main head's and, when asked and present, the auxiliary one's. */
export interface HeadLogits {
  out: tf.Tensor4D;
  aux?: tf.Tensor4D;
}

/** torchvision's reference training script: loss = main + 0.5 x auxiliary. */
export const AUX_LOSS_WEIGHT = 0.5;

/** Bilinear resize to `like`'s height and width as F.interpolate(..., align_corners=False). */
export function upsampleTo(x: tf.Tensor4D, height: number, width: number): tf.Tensor4D {
  if (x.shape[1] === height && x.shape[2] === width) return tf.clone(x);
  return resize(x, [height, width], { mode: 'bilinear', alignCorners: false });
}

/**
 * The base of torchvision's segmentation models (`_SimpleSegmentationModel`, LRASPP): `forward` is
 * the main head's logits at the input size; `trainingOutputs` adds the auxiliary head's with weight
 * 0.5 when the model has one. Inference never runs the auxiliary head.
 */
export abstract class TorchvisionSegmentationModel extends Module implements SegmentationModel {
  abstract readonly numClasses: number;
  abstract readonly config: Record<string, unknown>;

  /** The heads' logits before upsampling; `withAux`: the auxiliary head's too (training). */
  protected abstract headLogits(images: tf.Tensor4D, withAux: boolean): HeadLogits;

  get normalization(): Normalization {
    return IMAGENET_NORMALIZATION;
  }

  forward(images: tf.Tensor4D): tf.Tensor4D {
    const [, height, width] = images.shape;
    return tf.tidy(() => upsampleTo(this.headLogits(images, false).out, height, width));
  }

  trainingOutputs(images: tf.Tensor4D, labels: tf.Tensor3D): TrainingOutput[] {
    const [, height, width] = images.shape;
    const { out, aux } = this.headLogits(images, true);
    const outputs: TrainingOutput[] = [{ logits: upsampleTo(out, height, width), labels, weight: 1 }];
    if (aux) outputs.push({ logits: upsampleTo(aux, height, width), labels, weight: AUX_LOSS_WEIGHT });
    tf.dispose([out, ...(aux ? [aux] : [])]);
    return outputs;
  }
}

/**
 * torchvision's FCNHead: 3x3 conv to in/4 channels (no bias), batch norm, ReLU, dropout 0.1, 1x1
 * conv to the classes; children `0`, `1`, `4` hold its tensors, as its state_dict.
 */
export class FCNHead extends Sequential {
  constructor(inChannels: number, channels: number, rng: Rng) {
    const inter = Math.max(1, Math.floor(inChannels / 4));
    super([
      new Conv2d({ inChannels, outChannels: inter, kernelSize: 3, padding: 1, bias: false, rng }),
      new TorchBatchNorm2d(inter),
      new ReLU(),
      new Dropout(0.1, rng.derive('dropout')),
      new Conv2d({ inChannels: inter, outChannels: channels, kernelSize: 1, rng }),
    ]);
  }
}

/** Channel width of a ResNet probe: ResNet's names do not depend on width, the cost does. */
export const RESNET_PROBE_WIDTH = 1 / 64;

export interface ProbeOptions {
  /** File keys expected and unused (a file's `aux_classifier.*` when the model has none). */
  ignore?: (key: string) => boolean;
  /**
   * Build the probe at this width instead of the config's: only where names cannot depend on it
   * (ResNet; MobileNetV3's rounding drops expansion convs at small widths, as torchvision's).
   */
  probeWidth?: number;
}

/**
 * The PyTorch name map of an architecture, read off a probe built from the same config (narrowed
 * where names allow), so `weightMaps(config)` needs no full-size model.
 */
export function probeTorchNameMap<C extends { width?: number }>(
  create: (config: C, rng: Rng) => Module,
  config: C,
  description: string,
  options: ProbeOptions = {},
): WeightNameMap {
  const probeConfig = options.probeWidth === undefined ? config : { ...config, width: options.probeWidth };
  const probe = create(probeConfig, new Rng(0));
  try {
    return torchNameMap(probe, {
      description,
      normalization: IMAGENET_NORMALIZATION,
      ...(options.ignore ? { ignore: options.ignore } : {}),
    });
  } finally {
    probe.dispose();
  }
}
