import type { ArrayWithShape } from './keras-layout.js';

/**
 * Subsamples an HWIO kernel: keeps spatial taps 0, step, 2*step... and every `inStep`-th input and
 * `outStep`-th output channel, as the DeepLab release turned VGG16's 7x7x512x4096 fc6 into
 * 3x3x512x1024 (spatial step 3, output step 4) and fc7 into 1x1x1024x1024 (input and output step 4).
 */
export function decimateKernel(
  kernel: ArrayWithShape,
  spatialStep: number,
  inStep: number,
  outStep: number,
): ArrayWithShape {
  const [kh, kw, cin, cout] = kernel.shape as [number, number, number, number];
  const oh = Math.ceil(kh / spatialStep);
  const ow = Math.ceil(kw / spatialStep);
  const oin = Math.ceil(cin / inStep);
  const oout = Math.ceil(cout / outStep);
  const out = new Float32Array(oh * ow * oin * oout);
  let o = 0;
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      for (let i = 0; i < oin; i++) {
        const base = ((y * spatialStep * kw + x * spatialStep) * cin + i * inStep) * cout;
        for (let c = 0; c < oout; c++) out[o++] = kernel.data[base + c * outStep]!;
      }
    }
  }
  return { data: out, shape: [oh, ow, oin, oout] };
}

/** Keeps every `step`-th element of a bias vector. */
export function decimateBias(bias: ArrayWithShape, step: number): ArrayWithShape {
  const n = Math.ceil(bias.data.length / step);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = bias.data[i * step]!;
  return { data: out, shape: [n] };
}
