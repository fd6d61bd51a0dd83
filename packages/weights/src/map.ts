// Applying a name map: for each of our parameters the file's tensor, converted from the
// producer's layout to ours, with every missing, unexpected and mis-shaped tensor reported at once.
import { elementCount } from './dtype.js';
import { WeightsError } from './errors.js';
import type { ForeignTensor, WeightFile } from './types.js';

/** How a file tensor becomes one of our parameters (the contract of @semseg/core's plugin.ts). */
export type TensorLayout = 'same' | 'conv' | 'conv-transpose' | 'linear-as-conv';

export interface TensorSource {
  key: string;
  layout: TensorLayout;
  divideBy?: string;
}

/** The part of @semseg/core's `WeightNameMap` that reading needs (core's maps fit it as they are). */
export interface WeightNameMap {
  format: 'pytorch' | 'caffe';
  description: string;
  source(parameter: string): TensorSource | null;
  ignore?(key: string): boolean;
}

export interface MapOptions {
  /** A backbone-only file: parameters the file lacks stay as initialised instead of failing. */
  allowMissing?: boolean;
}

export interface MappedWeights {
  /** Our parameter name -> its values in our layout. */
  values: Record<string, { shape: number[]; data: Float32Array }>;
  loaded: string[];
  /** Our parameters the file does not hold (only when allowMissing). */
  missing: string[];
  /** File tensors no parameter took (only those the map does not ignore). */
  unexpected: string[];
}

/** The shape the file must have for a parameter of shape `ours` in `layout`. */
export function foreignShape(ours: readonly number[], layout: TensorLayout): number[] {
  if (layout === 'same') return [...ours];
  if (ours.length !== 4) throw new RangeError(`layout ${layout} needs a 4-d parameter, got [${ours}]`);
  const [kh, kw, a, b] = ours as [number, number, number, number];
  if (layout === 'conv') return [b, a, kh, kw]; // HWIO <- OIHW
  if (layout === 'conv-transpose') return [b, a, kh, kw]; // [kh, kw, out, in] <- [in, out, kh, kw]
  return [b, a * kh * kw]; // linear-as-conv: HWIO <- [out, in * kh * kw] (C, H, W order)
}

/** Caffe's legacy blobs are 4-d with leading 1s (1 x 1 x out x in for InnerProduct): compare without them. */
function squeezeLeading(shape: readonly number[]): number[] {
  let i = 0;
  while (i < shape.length - 1 && shape[i] === 1) i++;
  return shape.slice(i);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  const x = squeezeLeading(a);
  const y = squeezeLeading(b);
  return x.length === y.length && x.every((d, i) => d === y[i]);
}

/** Rearranges `data` (the file's layout) into ours (`shape` is ours). */
export function toOurLayout(
  data: Float32Array,
  shape: readonly number[],
  layout: TensorLayout,
): Float32Array {
  if (layout === 'same') return data;
  const [kh, kw, a, b] = shape as [number, number, number, number];
  const out = new Float32Array(data.length);
  // conv: file [b=out][a=in][y][x]; conv-transpose: file [b=in][a=out][y][x]; both to ours [y][x][a][b].
  // linear-as-conv: file [b=out][a=in][y][x] too (C, H, W flattening), so the same loop.
  const plane = kh * kw;
  for (let o = 0; o < b; o++) {
    for (let i = 0; i < a; i++) {
      const src = (o * a + i) * plane;
      for (let p = 0; p < plane; p++) out[(p * a + i) * b + o] = data[src + p]!;
    }
  }
  return out;
}

/** Values of the file read at once while converting a large tensor (the rest stays on disk). */
const CHUNK_VALUES = 4 << 20;

/**
 * toOurLayout without the whole file tensor in memory: the file's outer axis (out for conv and
 * linear-as-conv, in for conv-transpose) in blocks, each scattered into our layout.
 */
function convertInChunks(
  tensor: Required<Pick<ForeignTensor, 'readRange'>>,
  shape: readonly number[],
): Float32Array {
  // Every non-'same' layout is the same permutation (see toOurLayout).
  const [kh, kw, a, b] = shape as [number, number, number, number];
  const plane = kh * kw;
  const row = a * plane;
  const out = new Float32Array(kh * kw * a * b);
  const rowsPerChunk = Math.max(1, Math.floor(CHUNK_VALUES / row));
  for (let first = 0; first < b; first += rowsPerChunk) {
    const rows = Math.min(rowsPerChunk, b - first);
    const data = tensor.readRange(first * row, rows * row);
    for (let r = 0; r < rows; r++) {
      const o = first + r;
      for (let i = 0; i < a; i++) {
        const src = (r * a + i) * plane;
        for (let p = 0; p < plane; p++) out[(p * a + i) * b + o] = data[src + p]!;
      }
    }
  }
  return out;
}

/** Our layout back to the file's (export): the inverse of `toOurLayout`. */
export function toForeignLayout(
  data: Float32Array,
  shape: readonly number[],
  layout: TensorLayout,
): Float32Array {
  if (layout === 'same') return data;
  const [kh, kw, a, b] = shape as [number, number, number, number];
  const out = new Float32Array(data.length);
  const plane = kh * kw;
  for (let o = 0; o < b; o++) {
    for (let i = 0; i < a; i++) {
      const dst = (o * a + i) * plane;
      for (let p = 0; p < plane; p++) out[dst + p] = data[(p * a + i) * b + o]!;
    }
  }
  return out;
}

/** A checked mapping whose tensors are converted one at a time, when asked. */
export interface WeightsPlan {
  loaded: string[];
  missing: string[];
  unexpected: string[];
  /** One parameter's values in our layout (read from the file now). */
  convert(name: string): { shape: number[]; data: Float32Array };
}

/**
 * Checks a file against our parameters (`targets`: name -> our shape) without converting any:
 * one WeightsError lists every missing, unexpected and mis-shaped tensor with both names. Then
 * `convert` reads each tensor, so that a caller can load them one by one.
 */
export function planWeights(
  file: WeightFile,
  map: WeightNameMap,
  targets: Record<string, readonly number[]>,
  options: MapOptions = {},
): WeightsPlan {
  const missing: string[] = [];
  const mismatched: string[] = [];
  const used = new Set<string>();
  const plan: Array<{ name: string; shape: readonly number[]; source: TensorSource }> = [];
  for (const [name, shape] of Object.entries(targets)) {
    const source = map.source(name);
    if (!source || !file.tensors.has(source.key)) {
      missing.push(source ? `${name} <- '${source.key}'` : name);
      continue;
    }
    used.add(source.key);
    if (source.divideBy) used.add(source.divideBy);
    const tensor = file.tensors.get(source.key)!;
    const wanted = foreignShape(shape, source.layout);
    if (!sameShape(tensor.shape, wanted) || elementCount(tensor.shape) !== elementCount(shape)) {
      mismatched.push(
        `${name} [${shape}] needs '${source.key}' as [${wanted}], the file has [${tensor.shape}]`,
      );
      continue;
    }
    if (source.divideBy && !file.tensors.has(source.divideBy)) {
      missing.push(`${name} <- '${source.divideBy}' (its scale factor)`);
      continue;
    }
    plan.push({ name, shape, source });
  }
  const unexpected = [...file.tensors.keys()].filter((k) => !used.has(k) && !map.ignore?.(k));
  const fatalMissing = options.allowMissing ? [] : missing;
  if (fatalMissing.length > 0 || mismatched.length > 0 || unexpected.length > 0) {
    const parts: string[] = [];
    if (fatalMissing.length > 0) parts.push(`missing ${fatalMissing.length}: ${fatalMissing.join(', ')}`);
    if (unexpected.length > 0)
      parts.push(`unexpected ${unexpected.length}: ${unexpected.map((k) => `'${k}'`).join(', ')}`);
    if (mismatched.length > 0) parts.push(`wrong shape ${mismatched.length}: ${mismatched.join('; ')}`);
    throw new WeightsError(file.file, `does not fit ${map.description}; ${parts.join('; ')}`);
  }
  const byName = new Map(plan.map((p) => [p.name, p]));
  const convert = (name: string) => {
    const entry = byName.get(name);
    if (!entry) throw new RangeError(`planWeights: '${name}' is not among the loaded parameters`);
    const { shape, source } = entry;
    const tensor = file.tensors.get(source.key)!;
    const data =
      source.layout !== 'same' && tensor.readRange
        ? convertInChunks(tensor as Required<Pick<ForeignTensor, 'readRange'>>, shape)
        : toOurLayout(tensor.toFloat32(), shape, source.layout);
    if (source.divideBy) {
      const factor = file.tensors.get(source.divideBy)!.toFloat32()[0] ?? 0;
      // Caffe's BatchNorm: a factor of 0 means statistics never accumulated (they are 0).
      const scale = factor === 0 ? 0 : 1 / factor;
      for (let i = 0; i < data.length; i++) data[i]! *= scale;
    }
    return { shape: [...shape], data };
  };
  return { loaded: plan.map((p) => p.name), missing, unexpected, convert };
}

/** planWeights, then every tensor converted: all values at once. */
export function mapWeights(
  file: WeightFile,
  map: WeightNameMap,
  targets: Record<string, readonly number[]>,
  options: MapOptions = {},
): MappedWeights {
  const plan = planWeights(file, map, targets, options);
  const values: MappedWeights['values'] = {};
  for (const name of plan.loaded) values[name] = plan.convert(name);
  return { values, loaded: plan.loaded, missing: plan.missing, unexpected: plan.unexpected };
}
