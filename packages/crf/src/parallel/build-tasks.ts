import type { DenseCRF } from '../dense-crf.js';
import { InputError } from '../errors.js';
import { LatticeFilter } from '../lattice-filter.js';
import { softmaxFor } from '../softmax.js';
import { type SharedKernel, type ThreadTask, sharedCopy, sharedFloats, splitRange } from './plan.js';

const sharedKernels = new WeakMap<DenseCRF, { count: number; kernels: SharedKernel[] }>();

/** The CRF's lattices in shared memory, copied once per CRF (and again if terms were added). */
function kernelsOf(crf: DenseCRF): SharedKernel[] {
  const terms = crf.pairwiseTerms;
  const cached = sharedKernels.get(crf);
  if (cached && cached.count === terms.length) return cached.kernels;
  const kernels = terms.map(({ filter, compat }): SharedKernel => {
    if (!(filter instanceof LatticeFilter)) {
      throw new InputError(
        'crf',
        "threaded inference needs method 'lattice' (the exact oracle runs on one thread)",
      );
    }
    const { lattice } = filter;
    return {
      dims: lattice.dims,
      vertices: lattice.vertices,
      offsets: sharedCopy(lattice.offsets),
      weights: sharedCopy(lattice.weights),
      neighbours: sharedCopy(lattice.neighbours),
      pre: sharedCopy(filter.pre),
      post: sharedCopy(filter.post),
      alpha: filter.alpha,
      compat,
      filtered: compat.kind === 'potts' ? new Float32Array(0) : sharedFloats(crf.points * crf.labels),
    };
  });
  sharedKernels.set(crf, { count: terms.length, kernels });
  return kernels;
}

/**
 * Everything `threads` threads need to run `iterations` mean-field updates of `crf`, with Q already
 * set to softmax(-U) in shared memory. Labels are split between threads for filtering, pixels for the
 * softmax.
 */
export function buildThreadTasks(
  crf: DenseCRF,
  iterations: number,
  threads: number,
): { q: Float32Array; tasks: ThreadTask[] } {
  const unary = crf.unaryEnergy();
  const points = crf.points;
  const labels = crf.labels;
  const kernels = kernelsOf(crf);
  const sharedUnary = sharedCopy(unary);
  const q = sharedFloats(points * labels);
  const messages = sharedFloats(points * labels);
  softmaxFor(labels, crf.plainLoops)(messages, unary, q, 0, points);
  const barrier = new Int32Array(new SharedArrayBuffer(8));
  const parties = Math.min(threads, labels);
  const tasks = Array.from({ length: parties }, (_, t): ThreadTask => {
    const [labelStart, labelEnd] = splitRange(labels, parties, t);
    const [pixelStart, pixelEnd] = splitRange(points, parties, t);
    return {
      kind: 'js',
      points,
      labels,
      iterations,
      plainLoops: crf.plainLoops,
      parties,
      labelStart,
      labelEnd,
      pixelStart,
      pixelEnd,
      barrier,
      unary: sharedUnary,
      q,
      messages,
      kernels,
    };
  });
  return { q, tasks };
}
