// The plug-in contract: what a model package tells the engine, the CLI and the web page about its
// architectures, besides how to build them. Plain data and functions: no engine type leaks here.
import type { Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import type { ParameterEntry } from './module.js';
import type { SegmentationModel } from './registry.js';
import type { Normalization } from './types.js';

/** Caffe's `lr_mult` / `decay_mult` of one parameter. */
export interface ParameterGroup {
  /** Learning-rate multiplier (lr_mult): FCN/DeepLab biases 2, DeepLab's new classifier 10 and 20. */
  lrMultiplier: number;
  /** Weight-decay multiplier (decay_mult): 0 for biases and batch norm in the reference solvers. */
  decayMultiplier: number;
}

/** SGD with momentum (Caffe's update) or Adam / RMSprop (PyTorch's), with L2 weight decay. */
export interface OptimizerConfig {
  type: 'sgd' | 'adam' | 'rmsprop';
  /** SGD momentum (Caffe's). Default 0.9. */
  momentum?: number;
  /** L2 weight decay, times each parameter's decay multiplier. Default 5e-4. */
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** RMSprop's smoothing constant (PyTorch's alpha, Lasagne's rho). Default 0.99. */
  alpha?: number;
}

/** A learning-rate policy of the reference solvers (Caffe's lr_policy), without its length. */
export interface LrPolicy {
  policy: 'poly' | 'step' | 'fixed' | 'exp';
  baseLr: number;
  /** poly: lr = base * (1 - step / maxSteps) ^ power. Default 0.9 (DeepLab). */
  power?: number;
  /** step: lr = base * gamma ^ floor(step / stepSize). */
  stepSize?: number;
  /** step and exp (lr = base * gamma ^ step): the decay factor. Default 0.1. */
  gamma?: number;
}

/**
 * How the training loss is reduced over labelled pixels: 'mean' (PyTorch, Caffe's default
 * `normalize: true`) or 'sum' (Caffe's `normalize: false`, as the FCN solvers), which makes the
 * solvers' learning rates and weight decay apply literally.
 */
export type LossReduction = 'mean' | 'sum';

/** A paper's training recipe for one registered architecture, with where it comes from. */
export interface TrainPreset {
  name: string;
  /** The registered architecture it trains. */
  model: string;
  modelConfig: Record<string, unknown>;
  /** The solver file or paper section the values come from. */
  source: string;
  notes: string;
  optimizer: OptimizerConfig;
  schedule: LrPolicy;
  lossReduction?: LossReduction;
  steps: number;
  batchSize: number;
  crop: [number, number];
  scaleRange: [number, number];
  flipProbability: number;
  /** The split to train on, e.g. `train_aug` (SBD's 10,582 images) for FCN and DeepLab. */
  trainSplit?: string;
  /** How training samples are drawn: random crops of whole images (default) or object-centred crops. */
  sampler?: 'random-crop' | 'object-centred';
  /** Per-class loss weights, when the paper uses them. */
  classWeights?: readonly number[];
  /** Crop windows where one class covers this fraction or more are redrawn (mmsegmentation). */
  catMaxRatio?: number;
  /** Staged training: the preset whose trained run this one starts from (`--init-from <run>`). */
  initFrom?: string;
}

/** One weighted term of the training loss: logits and the labels they are scored against. */
export interface TrainingOutput {
  /** N x h x w x C logits. */
  logits: Tensor4D;
  /** N x h x w int32 labels at the logits' size (255 ignored). */
  labels: Tensor3D;
  weight: number;
  /**
   * Optional N x h x w per-pixel loss weights (U-Net's border weights): the term becomes
   * sum(w_p * loss_p) over labelled pixels divided by their count.
   */
  pixelWeights?: Tensor3D;
}

/** What `--pretrained` loads into a model (ImageNet weights for its backbone). */
export interface PretrainedInit<M extends SegmentationModel = SegmentationModel> {
  /** The files it accepts, for help texts and `semseg info`. */
  description: string;
  /** Loads weights from a file path or bytes into the model's backbone, left in place. */
  load(model: M, source: WeightsInput): Promise<PretrainedReport>;
}

/** A weights file by path (Node) or by name and content (browser, tests). */
export type WeightsInput = string | { name: string; data: Uint8Array };

export interface PretrainedReport {
  /** The file the weights came from. */
  file: string;
  format: string;
  /** Parameters set from the file. */
  loaded: string[];
  /** Parameters the file does not cover, left as initialised. */
  notInSource: string[];
}

/**
 * How a tensor of a foreign file becomes one of our parameters.
 * - `same`: copied as is (vectors, scalars).
 * - `conv`: OIHW (PyTorch Conv2d, Caffe Convolution) to our HWIO.
 * - `conv-transpose`: PyTorch ConvTranspose2d / Caffe Deconvolution [in, out, kh, kw] to our
 *   [kh, kw, out, in] (tfjs conv2dTranspose's filter layout).
 * - `linear-as-conv`: an InnerProduct / Linear [out, in * kh * kw] (C, H, W order) to a kh x kw conv,
 *   shaped by our parameter (VGG16 fc6 25088x4096 to 7x7x512x4096).
 */
export type TensorLayout = 'same' | 'conv' | 'conv-transpose' | 'linear-as-conv';

/** Where one of our parameters lives in a foreign file. */
export interface TensorSource {
  /** The file's name for it: `classifier.4.weight`, `fc6/0` (Caffe: layer name / blob index). */
  key: string;
  layout: TensorLayout;
  /**
   * Divide by this file tensor's first value (Caffe BatchNorm keeps mean and variance times a
   * moving-average factor stored as blob 2; a factor of 0 means the statistics are 0).
   */
  divideBy?: string;
}

/**
 * A name map between one of our architectures and the files of a foreign producer, used by
 * @semseg/weights to import (and export) such files by name.
 */
export interface WeightNameMap {
  format: 'pytorch' | 'caffe';
  /** Whose files these are, e.g. "torchvision's fcn_resnet50" or "the voc-fcn8s Caffe model". */
  description: string;
  /** The file tensor for one of our parameters or buffers; null: such files do not hold it. */
  source(parameter: string): TensorSource | null;
  /** File keys that are expected and not needed (`num_batches_tracked`; `aux_classifier.*`). */
  ignore?(key: string): boolean;
  /** File tensors an export must add for the foreign loader (PyTorch's int64 `num_batches_tracked`). */
  exportExtras?(): Array<{ key: string; dtype: 'int64' | 'float32'; shape: number[]; value: number }>;
  /** How the producer's models take images (Caffe: BGR minus a mean; PyTorch: ImageNet mean/std). */
  normalization: Normalization;
}

/** Optional parts of a model definition beyond building it: everything the apps need to know. */
export interface ModelPlugin<C, M extends SegmentationModel = SegmentationModel> {
  /** ImageNet initialisation of the backbone (`--pretrained`). */
  pretrained?: PretrainedInit<M>;
  /**
   * Learning-rate and weight-decay multipliers per parameter name. Absent: each parameter's own
   * `lrMultiplier` and `weightDecay` flag (biases and batch norm undecayed).
   */
  parameterGroup?(parameter: string, entry: ParameterEntry): ParameterGroup;
  /** Name maps for the foreign files this architecture can load (and export to). */
  weightMaps?(config: C): WeightNameMap[];
  /**
   * The paper's CRF post-processing (a @semseg/crf preset name, or one chosen from the config), used
   * when `--crf` names none.
   */
  crfPreset?: string | ((config: C) => string);
  /**
   * The paper's per-pixel loss weights for one training crop (U-Net's border weight map, eq. 2),
   * used by `--weight-map`: `labels` and `instances` (instance id per pixel, 0 none) row-major,
   * `options` the map's own parameters (U-Net: `w0`, `sigma`). Returns width x height weights.
   */
  pixelWeightMap?(input: PixelWeightInput, options: Readonly<Record<string, number>>): Float32Array;
}

/** One training crop as `pixelWeightMap` reads it. */
export interface PixelWeightInput {
  width: number;
  height: number;
  labels: Uint8Array;
  instances: Uint16Array;
  numClasses: number;
  ignoreIndex: number;
}
