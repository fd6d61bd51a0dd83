// Convolution and pooling geometry of a traced tfjs kernel as ONNX attributes: strides, dilations
// and explicit pads [top, left, bottom, right] that reproduce the traced output size.
import type { TracedKernel } from '../trace.js';
import { ExportError } from './context.js';

export interface WindowGeometry {
  strides: [number, number];
  dilations: [number, number];
  pads: [number, number, number, number];
}

function pair(value: unknown, fallback: number): [number, number] {
  if (value === undefined || value === null) return [fallback, fallback];
  if (typeof value === 'number') return [value, value];
  const v = value as number[];
  return [v[0]!, v[1]!];
}

/** Leading pads of tfjs's padding modes; the trailing pads follow from the output size. */
function leadingPads(
  pad: unknown,
  inputSize: readonly number[],
  extent: [number, number],
  strides: [number, number],
  outSize: readonly number[],
): [number, number] {
  if (pad === 'valid') return [0, 0];
  if (typeof pad === 'number') return [pad, pad];
  if (pad === 'same') {
    return [0, 1].map((a) => {
      const total = Math.max(0, (outSize[a]! - 1) * strides[a]! + extent[a]! - inputSize[a]!);
      return Math.floor(total / 2);
    }) as [number, number];
  }
  if (Array.isArray(pad) && pad.length === 4) {
    const explicit = pad as Array<[number, number]>;
    return [explicit[1]![0], explicit[2]![0]];
  }
  throw new ExportError(`onnx export: padding ${JSON.stringify(pad)} is not supported`);
}

function windowGeometry(
  k: TracedKernel,
  inShape: readonly number[],
  kernel: [number, number],
  outShape: readonly number[],
  strides: [number, number],
  dilations: [number, number],
  pad: unknown,
): WindowGeometry {
  const inSize = [inShape[1]!, inShape[2]!];
  const outSize = [outShape[1]!, outShape[2]!];
  const extent: [number, number] = [(kernel[0] - 1) * dilations[0] + 1, (kernel[1] - 1) * dilations[1] + 1];
  const [top, left] = leadingPads(pad, inSize, extent, strides, outSize);
  const trailing = [0, 1].map((a) => {
    const lead = a === 0 ? top : left;
    const need = (outSize[a]! - 1) * strides[a]! + extent[a]! - inSize[a]! - lead;
    const rest = Math.max(0, need);
    if (Math.floor((inSize[a]! + lead + rest - extent[a]!) / strides[a]!) + 1 !== outSize[a]) {
      throw new ExportError(
        `onnx export: cannot reproduce the output size of ${k.kernel} (${JSON.stringify(pad)})`,
      );
    }
    return rest;
  });
  return { strides, dilations, pads: [top, left, trailing[0]!, trailing[1]!] };
}

export function convGeometry(
  k: TracedKernel,
  inShape: readonly number[],
  kernel: [number, number],
  outShape: readonly number[],
): WindowGeometry {
  return windowGeometry(
    k,
    inShape,
    kernel,
    outShape,
    pair(k.attrs.strides, 1),
    pair(k.attrs.dilations, 1),
    k.attrs.pad,
  );
}

export interface PoolGeometry extends WindowGeometry {
  kernel: [number, number];
}

export function poolGeometry(
  k: TracedKernel,
  inShape: readonly number[],
  outShape: readonly number[],
): PoolGeometry {
  const kernel = pair(k.attrs.filterSize, 1);
  const g = windowGeometry(k, inShape, kernel, outShape, pair(k.attrs.strides, 1), [1, 1], k.attrs.pad);
  return { ...g, kernel };
}
