// Which parameters "head only" fine-tuning trains, for any registered architecture: the layers
// that output class scores. A layer is a classifier when its 4-D kernel's last axis (output
// channels, HWIO) has numClasses entries; its bias (same dotted prefix) goes with it. That finds
// FCN's score_fr/score_pool4/score_pool3, DeepLab's fc8 (every ASPP branch), torchvision's
// classifier.4 and aux_classifier.4, PSPNet's cls.4/aux.4, U-Net's head, SegNet's conv1_1_D,
// DeconvNet's score, FC-DenseNet's classifier, LR-ASPP's low/high classifiers (a test checks each
// registered architecture). Frozen layers (FCN's fixed bilinear upsampling) stay frozen, and a
// transposed convolution's [kh, kw, out, in] kernel is not matched unless its `in` is numClasses.
import type { ParameterEntry, SegmentationModel } from '@semseg/core';

export type TrainableLayers = 'head' | 'all';

function prefixOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(0, dot + 1);
}

/** Names of the trainable classifier parameters (kernels with numClasses outputs and their biases). */
export function headParameterNames(model: SegmentationModel): string[] {
  const parameters = model.namedParameters();
  const classifiers = new Set(
    parameters
      .filter((p) => p.variable.rank === 4 && p.variable.shape[3] === model.numClasses)
      .map((p) => prefixOf(p.name)),
  );
  return parameters
    .filter((p) => p.trainable && classifiers.has(prefixOf(p.name)) && isKernelOrBias(p, model.numClasses))
    .map((p) => p.name);
}

function isKernelOrBias(p: ParameterEntry, numClasses: number): boolean {
  const shape = p.variable.shape;
  return (shape.length === 4 && shape[3] === numClasses) || (shape.length === 1 && shape[0] === numClasses);
}

export interface TrainableSummary {
  /** Trainable parameter names after the choice. */
  names: string[];
  /** Scalars that train, and all parameter scalars. */
  scalars: number;
  total: number;
}

/**
 * Freezes every parameter but the chosen ones (the model is the fine-tune's own copy). 'all'
 * keeps the model's own choice (parameters it declares frozen stay frozen).
 */
export function chooseTrainable(model: SegmentationModel, layers: TrainableLayers): TrainableSummary {
  if (layers === 'head') {
    const head = headParameterNames(model);
    if (head.length === 0) {
      throw new Error(
        `found no classifier layer (a kernel with ${model.numClasses} output channels) to train; train all layers`,
      );
    }
    model.setTrainable(false);
    for (const name of head) model.setTrainable(true, name);
  }
  const parameters = model.namedParameters();
  const trainable = parameters.filter((p) => p.trainable);
  return {
    names: trainable.map((p) => p.name),
    scalars: trainable.reduce((n, p) => n + p.variable.size, 0),
    total: parameters.reduce((n, p) => n + p.variable.size, 0),
  };
}
