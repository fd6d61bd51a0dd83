// Name maps for modules built with PyTorch's own names (torchvision's ResNet, MobileNetV3 and
// segmentation heads): every parameter and buffer is the file tensor of the same dotted name, and
// the layout follows from the kind of layer that holds it.
import type { Module, Normalization, TensorLayout, TensorSource, WeightNameMap } from '@semseg/core';
import { ConvTranspose2d } from './layers/conv-transpose2d.js';
import { Conv2d } from './layers/conv2d.js';
import { DepthwiseConv2d } from './layers/depthwise-conv2d.js';
import { TorchBatchNorm2d } from './layers/torch-batch-norm2d.js';

export interface TorchNameMapOptions {
  /** Whose files these are, e.g. "torchvision's fcn_resnet50 state_dict". */
  description: string;
  normalization: Normalization;
  /** Only our names under this prefix are in the file (a backbone-only file: `backbone.`). Default ''. */
  prefix?: string;
  /** What replaces `prefix` in the file's keys. Default ''. */
  filePrefix?: string;
  /**
   * Module paths (ours, full) of Linear layers we hold as 1x1 convs (a classifier's `fc`): their
   * PyTorch [out, in] weight takes the `linear-as-conv` layout.
   */
  linear?: readonly string[];
  /** File keys that are expected and unused, besides `num_batches_tracked` (e.g. `fc.*`). */
  ignore?(key: string): boolean;
}

const BATCHES_TRACKED = '.num_batches_tracked';

function walk(module: Module, path: string, visit: (path: string, module: Module) => void): void {
  visit(path, module);
  for (const [name, child] of module.children()) walk(child, path ? `${path}.${name}` : name, visit);
}

function weightLayout(module: Module): TensorLayout {
  if (module instanceof ConvTranspose2d) return 'conv-transpose';
  if (module instanceof Conv2d || module instanceof DepthwiseConv2d) return 'conv';
  return 'same';
}

/**
 * A `WeightNameMap` from a built module whose names are PyTorch's: identity names (under an
 * optional prefix), conv weights OIHW -> HWIO, the rest as is; `num_batches_tracked` ignored on
 * import and written back (0) on export, so the file loads with `load_state_dict(strict=True)`.
 * The map is plain data captured from the module: dispose the module afterwards if it was a probe.
 */
export function torchNameMap(module: Module, options: TorchNameMapOptions): WeightNameMap {
  const prefix = options.prefix ?? '';
  const filePrefix = options.filePrefix ?? '';
  const linear = new Set(options.linear ?? []);
  const sources = new Map<string, TensorSource>();
  const batchNorms: string[] = [];
  walk(module, '', (path, node) => {
    const dotted = path ? `${path}.` : '';
    if (node instanceof TorchBatchNorm2d && path.startsWith(prefix)) batchNorms.push(path);
    for (const entry of node.namedEntries()) {
      // namedEntries is recursive: keep only this node's own tensors (no dot in the local name).
      if (entry.name.includes('.')) continue;
      const name = dotted + entry.name;
      if (!name.startsWith(prefix)) continue;
      const layout: TensorLayout =
        entry.name !== 'weight' ? 'same' : linear.has(path) ? 'linear-as-conv' : weightLayout(node);
      sources.set(name, { key: filePrefix + name.slice(prefix.length), layout });
    }
  });
  const extraIgnore = options.ignore;
  return {
    format: 'pytorch',
    description: options.description,
    normalization: options.normalization,
    source: (parameter) => sources.get(parameter) ?? null,
    ignore: (key) => key.endsWith(BATCHES_TRACKED) || (extraIgnore?.(key) ?? false),
    exportExtras: () =>
      batchNorms.map((path) => ({
        key: `${filePrefix}${path.slice(prefix.length)}${BATCHES_TRACKED}`,
        dtype: 'int64' as const,
        shape: [],
        value: 0,
      })),
  };
}
