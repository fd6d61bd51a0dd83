// Splat, blur and slice as sequences of kernel calls over chunks of points or vertices (see
// chunks.ts), for the mean field and for the normaliser alike. Addresses are byte offsets.
import { inChunks } from './chunks.js';
import type { Kernel } from './runtime.js';

/** Where a lattice sits in memory. */
export interface LatticeAddresses {
  dims: number;
  vertices: number;
  /** points x (d + 1) vertex + 1 indices, and the matching barycentric weights. */
  offsets: number;
  weights: number;
  /** (d + 1) x vertices pairs of neighbour vertex + 1. */
  neighbours: number;
}

export function splat(
  kernel: Kernel,
  points: number,
  lattice: LatticeAddresses,
  input: { at: number; stride: number },
  pre: { at: number; stride: number },
  values: number,
): void {
  const corners = (lattice.dims + 1) * 4;
  inChunks(points, (start, count) =>
    kernel(
      count,
      input.at + start * input.stride,
      input.stride,
      pre.at + start * pre.stride,
      pre.stride,
      lattice.offsets + start * corners,
      lattice.weights + start * corners,
      values,
    ),
  );
}

/** d + 1 blur passes alternating between the buffers; returns the one holding the result. */
export function blur(kernel: Kernel, lattice: LatticeAddresses, values: number, scratch: number): number {
  let src = values;
  let dst = scratch;
  for (let axis = 0; axis <= lattice.dims; axis++) {
    const neighbours = lattice.neighbours + axis * lattice.vertices * 8;
    inChunks(lattice.vertices, (start, count) => kernel(count, start, neighbours + start * 8, src, dst));
    [src, dst] = [dst, src];
  }
  return src;
}

export function slice(
  kernel: Kernel,
  points: number,
  lattice: LatticeAddresses,
  values: number,
  post: { at: number; stride: number },
  scale: number,
  out: { at: number; stride: number },
): void {
  const corners = (lattice.dims + 1) * 4;
  inChunks(points, (start, count) =>
    kernel(
      count,
      lattice.offsets + start * corners,
      lattice.weights + start * corners,
      values,
      post.at + start * post.stride,
      post.stride,
      scale,
      out.at + start * out.stride,
      out.stride,
    ),
  );
}
