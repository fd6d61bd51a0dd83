// Kernels whose constant operand is a known function of the traced sizes, translated as the ONNX
// op that computes it for any size: a gather with mirror indices (U-Net's mirror extension) as a
// reflect Pad, a matmul with a bilinear interpolation matrix (@semseg/layers' resize) as Resize.
// DilatedNet's fixed bilinear deconvolution matrix as ConvTranspose. In a fixed-size graph they
// are the same values; in a size-generic one they follow the input.
import { ints, str } from '../ir.js';
import type { TracedKernel, TracedTensor } from '../trace.js';
import type { Converter } from './context.js';

/**
 * `gather(x, indices, axis)` with indices 0..n-1 followed by n-2, n-3, ... (a mirror extension of
 * e < n elements past the end, edge not repeated) as Pad(reflect); null for other indices.
 */
export function reflectGather(k: TracedKernel, c: Converter, x: TracedTensor, axis: number): string | null {
  const indices = k.inputs.find(([name]) => name === 'indices')?.[1];
  if (!indices || c.isDependent(indices) || indices.shape.length !== 1 || !c.isDependent(x)) return null;
  const values = c.data(indices);
  const n = x.shape[axis]!;
  const extra = values.length - n;
  if (extra < 1 || extra > n - 1) return null;
  for (let i = 0; i < values.length; i++) if (values[i] !== (i < n ? i : 2 * (n - 1) - i)) return null;
  const pads = new Array<number>(2 * x.shape.length).fill(0);
  pads[x.shape.length + axis] = extra;
  // A reflection of `extra` elements needs more than `extra` of them.
  c.minimums.push({ of: x, axis, min: extra + 1 });
  return c.b.node('Pad', [c.value(x), c.b.int64(pads)], { mode: str('reflect') });
}

/** Bilinear interpolation weights [out, in] as @semseg/layers' `interpolationMatrix` makes them. */
function bilinear(inLength: number, outLength: number, transform: string): Float32Array {
  const m = new Float64Array(outLength * inLength);
  const scale =
    transform === 'align_corners'
      ? outLength > 1
        ? (inLength - 1) / (outLength - 1)
        : 0
      : inLength / outLength;
  for (let o = 0; o < outLength; o++) {
    const raw = transform === 'half_pixel' ? (o + 0.5) * scale - 0.5 : o * scale;
    const source = Math.max(0, raw);
    const i0 = Math.min(inLength - 1, Math.floor(source));
    const i1 = Math.min(inLength - 1, i0 + 1);
    const frac = source - i0;
    m[o * inLength + i0] += 1 - frac;
    m[o * inLength + i1] += frac;
  }
  return Float32Array.from(m);
}

const TRANSFORMS = ['half_pixel', 'align_corners', 'asymmetric'] as const;

function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The taps of a transposed convolution along one axis whose [out, in] matrix M is (Caffe's fixed
 * bilinear Deconvolution, as DilatedNet's upsampling writes it): stride s = out / in, kernel
 * 2s - s % 2, pad ceil((s - 1) / 2), M[j, i] = taps[j + pad - s * i]; null when M is not one.
 */
function transposedConvTaps(
  values: ArrayLike<number>,
  outLength: number,
  inLength: number,
): { taps: Float32Array; stride: number; pad: number } | null {
  if (outLength % inLength !== 0 || outLength === inLength) return null;
  const stride = outLength / inLength;
  const kernel = 2 * stride - (stride % 2);
  const pad = Math.ceil((stride - 1) / 2);
  // The taps from the middle column (no border there when in > 2), then every entry checked.
  const column = Math.floor(inLength / 2);
  const taps = new Float32Array(kernel);
  for (let t = 0; t < kernel; t++) {
    const j = t - pad + stride * column;
    taps[t] = j >= 0 && j < outLength ? values[j * inLength + column]! : 0;
  }
  for (let j = 0; j < outLength; j++) {
    for (let i = 0; i < inLength; i++) {
      const t = j + pad - stride * i;
      if (values[j * inLength + i] !== (t >= 0 && t < kernel ? taps[t] : 0)) return null;
    }
  }
  return { taps, stride, pad };
}

/**
 * `matMul(M, x)` with M a constant [out, in] (or [1, out, in]) bilinear interpolation matrix and
 * x [in, K] (@semseg/layers resizes one axis so) as Resize of x viewed as [1, 1, in, K] to
 * [1, 1, out, K]; null when M is not such a matrix.
 */
export function interpolationMatMul(k: TracedKernel, c: Converter): string | null {
  const a = k.inputs.find(([name]) => name === 'a')?.[1];
  const b = k.inputs.find(([name]) => name === 'b')?.[1];
  if (!a || !b || k.attrs.transposeA || k.attrs.transposeB) return null;
  if (c.isDependent(a) || !c.isDependent(b) || a.dtype !== 'float32') return null;
  const rank = a.shape.length;
  if (
    rank !== b.shape.length ||
    (rank !== 2 && rank !== 3) ||
    (rank === 3 && (a.shape[0] !== 1 || b.shape[0] !== 1))
  )
    return null;
  const [outLength, inLength] = a.shape.slice(-2) as [number, number];
  if (b.shape[rank - 2] !== inLength || outLength === inLength) return null;
  const values = c.data(a);
  const transform = TRANSFORMS.find((t) => sameValues(values, bilinear(inLength, outLength, t)));
  const deconv =
    transform === undefined && inLength > 2 ? transposedConvTaps(values, outLength, inLength) : null;
  if (transform === undefined && deconv === null) return null;
  const result = k.outputs[0]!;
  // As a one-channel image [1, 1, in, K] (2-D) or [1, 1, in, K] from [1, in, K] (3-D).
  const lead = rank === 2 ? [0, 1] : [0];
  const image = c.b.node('Unsqueeze', [c.value(b), c.b.int64(lead)]);
  if (deconv !== null) {
    const { taps, stride, pad } = deconv;
    const weight = c.b.float('W_deconv', [1, 1, taps.length, 1], taps);
    const up = c.b.node('ConvTranspose', [image, weight], {
      kernel_shape: ints([taps.length, 1]),
      strides: ints([stride, 1]),
      pads: ints([pad, 0, pad, 0]),
    });
    return c.b.node('Squeeze', [up, c.b.int64(lead)]);
  }
  const sizes = c.vector([1, 1, { of: result, axis: rank - 2 }, { of: result, axis: rank - 1 }]);
  const resized = c.b.node('Resize', [image, '', '', sizes], {
    mode: str('linear'),
    coordinate_transformation_mode: str(transform!),
  });
  return c.b.node('Squeeze', [resized, c.b.int64(lead)]);
}
