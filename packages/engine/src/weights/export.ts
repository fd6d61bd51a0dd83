// A model's weights out, as a file that PyTorch loads: the architecture's PyTorch names and
// layouts where it has a PyTorch counterpart, else our own dotted names in PyTorch layouts.
import type { ModelDefinition, SegmentationModel, TensorSource, WeightNameMap } from '@semseg/core';
import { type TensorToWrite, toForeignLayout, writePytorch, writeSafetensors } from '@semseg/weights';

export interface ExportWeightsOptions {
  to: 'safetensors' | 'pth';
  /** A name map to use instead of the architecture's PyTorch one. */
  map?: WeightNameMap;
}

/** Our parameter in its foreign layout (and the foreign shape). */
function foreign(data: Float32Array, shape: readonly number[], source: TensorSource): TensorToWrite {
  const [kh, kw, a, b] = shape as [number, number, number, number];
  switch (source.layout) {
    case 'same':
      return { dtype: 'float32', shape: [...shape], data };
    case 'conv':
    case 'conv-transpose':
      // HWIO -> OIHW and [kh, kw, out, in] -> [in, out, kh, kw] are the same permutation.
      return { dtype: 'float32', shape: [b, a, kh, kw], data: toForeignLayout(data, shape, source.layout) };
    case 'linear-as-conv':
      return { dtype: 'float32', shape: [b, a * kh * kw], data: toForeignLayout(data, shape, source.layout) };
  }
}

/** Without a PyTorch map: our names, 4-d kernels in PyTorch's order, the rest as they are. */
function ownNames(parameter: string, rank: number): TensorSource {
  return { key: parameter, layout: rank === 4 ? 'conv' : 'same' };
}

/** The tensors an export writes, by file key (for tests and other writers). */
export async function exportTensors(
  model: SegmentationModel,
  definition: ModelDefinition,
  map?: WeightNameMap,
): Promise<Map<string, TensorToWrite>> {
  const chosen = map ?? definition.weightMaps?.(model.config ?? {}).find((m) => m.format === 'pytorch');
  const out = new Map<string, TensorToWrite>();
  for (const [name, tensor] of Object.entries(model.stateDict())) {
    const source = chosen ? chosen.source(name) : ownNames(name, tensor.rank);
    if (!source) continue;
    const data = (await tensor.data()) as Float32Array;
    out.set(source.key, foreign(Float32Array.from(data), tensor.shape, source));
  }
  for (const extra of chosen?.exportExtras?.() ?? []) {
    const count = extra.shape.reduce((x, y) => x * y, 1);
    out.set(extra.key, {
      dtype: extra.dtype,
      shape: extra.shape,
      data:
        extra.dtype === 'int64'
          ? new BigInt64Array(count).fill(BigInt(Math.round(extra.value)))
          : new Float32Array(count).fill(extra.value),
    });
  }
  return out;
}

/** Encodes the model's weights as a .pth (torch.save of a state dict) or a .safetensors file. */
export async function exportWeights(
  model: SegmentationModel,
  definition: ModelDefinition,
  options: ExportWeightsOptions,
): Promise<Uint8Array> {
  const tensors = await exportTensors(model, definition, options.map);
  return options.to === 'pth' ? writePytorch(tensors) : writeSafetensors(tensors, { format: 'pt' });
}
