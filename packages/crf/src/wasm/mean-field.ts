// Mean-field inference on the WebAssembly SIMD kernels. The unary, Q and messages live in one
// memory as padded rows (labels rounded up to whole f32x4 vectors), with every pairwise term's
// lattice beside them. Each step has two phases:
//   A (per block of label vectors): filter Q through each term's lattice (splat, blur, slice);
//     Potts terms slice straight into the messages, other terms into their own `filtered` rows;
//   B (per block of pixels): messages -= W_k filtered_k for the non-Potts terms, then
//     Q = softmax(messages - U).
// One thread runs both phases over everything, and with Potts terms only it fuses every term's
// splat into one pass over Q and every slice into one pass writing the messages. Worker threads
// split phase A by label vectors and phase B by pixels over a shared memory, with a barrier between
// phases. Every value is computed by the same operations in the same order either way, so threaded
// Q equals single-thread Q bit for bit.
import type { ResolvedCompatibility } from '../compatibility.js';
import { InputError } from '../errors.js';
import type { Lattice } from '../lattice.js';
import { splitRange } from '../parallel/plan.js';
import { inChunks } from './chunks.js';
import { blur, slice, splat } from './filter-calls.js';
import { blurName, sliceName, sliceTermsName, splatName, splatTermsName } from './kernels.js';
import {
  type Kernel,
  Layout,
  acquireMemory,
  acquireSharedMemory,
  instantiate,
  kernelModule,
  maxPages,
  releaseMemory,
} from './runtime.js';

export interface MeanFieldTerm {
  readonly lattice: Lattice;
  readonly pre: Float32Array;
  readonly post: Float32Array;
  readonly alpha: number;
  readonly compat: ResolvedCompatibility;
}

/** Addresses and sizes of one pairwise term in memory. */
export interface TermPlan {
  dims: number;
  vertices: number;
  offsets: number;
  weights: number;
  neighbours: number;
  pre: number;
  post: number;
  /** Potts weight * alpha (slice scale); for other compatibilities, alpha. */
  scale: number;
  potts: boolean;
  /** labels x labels compatibility rows and this term's filtered rows (0 for Potts). */
  matrix: number;
  filtered: number;
}

/** One thread's share: label vectors [groupStart, groupEnd) in phase A, pixels [pixelStart, pixelEnd) in B. */
export interface ThreadShare {
  groupStart: number;
  groupEnd: number;
  pixelStart: number;
  pixelEnd: number;
  /** Per term, the two buffers its blur alternates between (one pair for all terms unless fused). */
  values: number[];
  scratch: number[];
}

/** Everything a thread needs besides the memory and the compiled module. */
export interface MeanFieldPlan {
  points: number;
  labels: number;
  groups: number;
  unary: number;
  q: number;
  messages: number;
  terms: TermPlan[];
  shares: ThreadShare[];
  /** Two i32: [arrived, generation] of the phase barrier (threads only). */
  barrier: number;
  /**
   * One thread and Potts terms only: every term's splat in one pass over Q and every slice in one
   * pass writing the messages (per-term value buffers), a third less memory traffic per iteration.
   */
  fused: boolean;
}

/** Terms the fused kernels take at most (their parameter lists grow with each). */
const maxFusedTerms = 4;

/** Unary of the padded lanes: never the row maximum of messages - unary. */
const paddingUnary = 1e30;

/** The layout of a mean field over `threads` threads (at most one per label vector). */
function planLayout(
  points: number,
  labels: number,
  terms: readonly MeanFieldTerm[],
  threads: number,
): { plan: MeanFieldPlan; layout: Layout } {
  const groups = Math.ceil(labels / 4);
  const rowBytes = groups * 16;
  const layout = new Layout();
  const barrier = layout.reserve(8);
  const unary = layout.reserve(points * rowBytes);
  const q = layout.reserve(points * rowBytes);
  const messages = layout.reserve(points * rowBytes);
  let maxVertices = 0;
  const termPlans = terms.map(({ lattice, pre, post, alpha, compat }): TermPlan => {
    maxVertices = Math.max(maxVertices, lattice.vertices);
    const potts = compat.kind === 'potts';
    return {
      dims: lattice.dims,
      vertices: lattice.vertices,
      offsets: layout.reserve(lattice.offsets.byteLength),
      weights: layout.reserve(lattice.weights.byteLength),
      neighbours: layout.reserve(lattice.neighbours.byteLength),
      pre: layout.reserve(pre.byteLength),
      post: layout.reserve(post.byteLength),
      scale: compat.kind === 'potts' ? compat.weight * alpha : alpha,
      potts,
      matrix: potts ? 0 : layout.reserve(labels * rowBytes),
      filtered: potts ? 0 : layout.reserve(points * rowBytes),
    };
  });
  const parties = Math.max(1, Math.min(threads, groups));
  const fused =
    parties === 1 &&
    termPlans.length > 0 &&
    termPlans.length <= maxFusedTerms &&
    termPlans.every((t) => t.potts);
  const shares = Array.from({ length: parties }, (_, t): ThreadShare => {
    const [groupStart, groupEnd] = splitRange(groups, parties, t);
    const [pixelStart, pixelEnd] = splitRange(points, parties, t);
    const rowBytes = (groupEnd - groupStart) * 16;
    if (fused) {
      const values = termPlans.map((term) => layout.reserve((term.vertices + 2) * rowBytes));
      const scratch = termPlans.map((term) => layout.reserve((term.vertices + 2) * rowBytes));
      return { groupStart, groupEnd, pixelStart, pixelEnd, values, scratch };
    }
    // Terms are filtered one after another: one pair of buffers serves them all.
    const values = layout.reserve((maxVertices + 2) * rowBytes);
    const scratch = layout.reserve((maxVertices + 2) * rowBytes);
    return {
      groupStart,
      groupEnd,
      pixelStart,
      pixelEnd,
      values: termPlans.map(() => values),
      scratch: termPlans.map(() => scratch),
    };
  });
  if (layout.pages > maxPages) {
    throw new InputError(
      'crf',
      `needs ${(layout.bytes / 2 ** 30).toFixed(1)} GiB of WebAssembly memory, over its 4 GiB limit; use engine 'js'`,
    );
  }
  return {
    plan: { points, labels, groups, unary, q, messages, terms: termPlans, shares, barrier, fused },
    layout,
  };
}

/** The kernels a plan calls, compiled for its widths. */
export function planModule(plan: MeanFieldPlan, shared: boolean): WebAssembly.Module {
  const dims = [...new Set(plan.terms.map((t) => t.dims))];
  const widths = [...new Set([...plan.shares.map((s) => s.groupEnd - s.groupStart), plan.groups])];
  const fused = plan.fused ? plan.terms.map((t) => t.dims) : undefined;
  return kernelModule({ labels: plan.labels, groups: plan.groups, dims, widths, fused }, shared);
}

/** Zeroes term k's value buffer; row 0 of both buffers is the empty vertex blur reads: zero too. */
function clearValues(
  kernels: Record<string, Kernel>,
  share: ThreadShare,
  k: number,
  vertices: number,
  width: number,
): void {
  kernels.zero(share.values[k], (vertices + 2) * width * 16);
  kernels.zero(share.scratch[k], width * 16);
}

/** A whole step on one thread with the fused splat and slice kernels (plan.fused). */
function fusedStep(kernels: Record<string, Kernel>, plan: MeanFieldPlan): void {
  const { points, groups, terms } = plan;
  const share = plan.shares[0];
  const rowBytes = groups * 16;
  const dims = terms.map((t) => t.dims);
  terms.forEach((t, k) => clearValues(kernels, share, k, t.vertices, groups));
  const splatAll = kernels[splatTermsName(dims)];
  inChunks(points, (start, n) => {
    const args = terms.flatMap((t, k) => {
      const corners = start * (t.dims + 1) * 4;
      return [t.pre + start * 4, t.offsets + corners, t.weights + corners, share.values[k]];
    });
    splatAll(n, plan.q + start * rowBytes, ...args);
  });
  const blurred = terms.map((t, k) => blur(kernels[blurName(groups)], t, share.values[k], share.scratch[k]));
  const sliceAll = kernels[sliceTermsName(dims)];
  inChunks(points, (start, n) => {
    const args = terms.flatMap((t, k) => {
      const corners = start * (t.dims + 1) * 4;
      return [t.offsets + corners, t.weights + corners, blurred[k], t.post + start * 4, t.scale];
    });
    sliceAll(n, ...args, plan.messages + start * rowBytes);
  });
  updatePhase(kernels, plan, share);
}

/** Phase A for one share: every term's filtering of its label vectors. */
export function filterPhase(
  kernels: Record<string, Kernel>,
  plan: MeanFieldPlan,
  share: ThreadShare,
  memory: WebAssembly.Memory,
): void {
  const { points, groups } = plan;
  const rowBytes = groups * 16;
  const width = share.groupEnd - share.groupStart;
  const lane = share.groupStart * 16;
  let messagesWritten = false;
  plan.terms.forEach((t, k) => {
    clearValues(kernels, share, k, t.vertices, width);
    const input = { at: plan.q + lane, stride: rowBytes };
    splat(kernels[splatName(t.dims, width)], points, t, input, { at: t.pre, stride: 4 }, share.values[k]);
    const blurred = blur(kernels[blurName(width)], t, share.values[k], share.scratch[k]);
    const accumulate = t.potts && messagesWritten;
    const out = { at: (t.potts ? plan.messages : t.filtered) + lane, stride: rowBytes };
    slice(
      kernels[sliceName(t.dims, width, accumulate)],
      points,
      t,
      blurred,
      { at: t.post, stride: 4 },
      t.scale,
      out,
    );
    if (t.potts) messagesWritten = true;
  });
  if (!messagesWritten) {
    // No Potts term: messages start from zero (this share's lanes of every row).
    const messages = new Float32Array(memory.buffer, plan.messages, points * groups * 4);
    for (let i = 0; i < points; i++)
      messages.fill(0, i * groups * 4 + share.groupStart * 4, i * groups * 4 + share.groupEnd * 4);
  }
}

/** Phase B for one share: the non-Potts compatibilities and the softmax of its pixels. */
export function updatePhase(kernels: Record<string, Kernel>, plan: MeanFieldPlan, share: ThreadShare): void {
  const rowBytes = plan.groups * 16;
  const count = share.pixelEnd - share.pixelStart;
  const first = share.pixelStart * rowBytes;
  for (const t of plan.terms) {
    if (t.potts) continue;
    inChunks(count, (start, n) => {
      const row = first + start * rowBytes;
      kernels.compatibility(n, t.filtered + row, t.matrix, plan.messages + row);
    });
  }
  inChunks(count, (start, n) => {
    const row = first + start * rowBytes;
    kernels.softmax(n, plan.messages + row, plan.unary + row, plan.q + row);
  });
}

export class WasmMeanField {
  readonly plan: MeanFieldPlan;
  readonly memory: WebAssembly.Memory;
  readonly module: WebAssembly.Module;
  private readonly kernels: Record<string, Kernel>;
  private disposed = false;

  /** `threads` > 1 lays out one share per thread in shared memory (see threadTasks). */
  constructor(
    points: number,
    labels: number,
    unary: Float32Array,
    terms: readonly MeanFieldTerm[],
    threads = 1,
  ) {
    const { plan, layout } = planLayout(points, labels, terms, threads);
    this.plan = plan;
    const shared = threads > 1;
    this.module = planModule(plan, shared);
    this.memory = shared ? acquireSharedMemory(layout.pages) : acquireMemory(layout.pages);
    // A reused memory holds stale data: the barrier must start with no thread arrived.
    if (shared) new Int32Array(this.memory.buffer, plan.barrier, 2).fill(0);
    this.kernels = instantiate(this.module, this.memory);
    const buffer = this.memory.buffer;
    terms.forEach(({ lattice, pre, post, compat }, k) => {
      const t = plan.terms[k];
      new Int32Array(buffer, t.offsets, lattice.offsets.length).set(lattice.offsets);
      new Float32Array(buffer, t.weights, lattice.weights.length).set(lattice.weights);
      new Int32Array(buffer, t.neighbours, lattice.neighbours.length).set(lattice.neighbours);
      new Float32Array(buffer, t.pre, points).set(pre);
      new Float32Array(buffer, t.post, points).set(post);
      if (!t.potts) this.writeMatrix(compat, t.matrix);
    });
    this.writeRows(plan.unary, unary, paddingUnary);
  }

  /** Q = softmax(-U). */
  start(): void {
    const { points, groups, messages, unary, q } = this.plan;
    this.floats(messages, points * groups * 4).fill(0);
    const rowBytes = groups * 16;
    inChunks(points, (start, n) =>
      this.kernels.softmax(n, messages + start * rowBytes, unary + start * rowBytes, q + start * rowBytes),
    );
  }

  /** One mean-field update of Q on this thread (a single-thread layout). */
  step(): void {
    if (this.plan.shares.length !== 1) throw new Error('a threaded mean field steps in its threads');
    if (this.plan.fused) {
      fusedStep(this.kernels, this.plan);
      return;
    }
    filterPhase(this.kernels, this.plan, this.plan.shares[0], this.memory);
    updatePhase(this.kernels, this.plan, this.plan.shares[0]);
  }

  /** Q as a new N x labels array (the messages buffer is the staging area). */
  readQ(): Float32Array {
    return this.compactView(this.plan.q).slice();
  }

  /** Copies Q into `out` (N x labels). */
  readQInto(out: Float32Array): void {
    out.set(this.compactView(this.plan.q));
  }

  /** Sets Q from N x labels rows (padded lanes zero). */
  writeQ(q: Float32Array): void {
    this.writeRows(this.plan.q, q, 0);
  }

  /** Hands the memory back for reuse; the mean field is unusable after (threads must be done). */
  dispose(): void {
    if (!this.disposed) releaseMemory(this.memory);
    this.disposed = true;
  }

  private compactView(address: number): Float32Array {
    const { points, labels, messages } = this.plan;
    this.kernels.compactRows(points, address, messages);
    return this.floats(messages, points * labels);
  }

  private writeRows(address: number, rows: Float32Array, padding: number): void {
    const { points, messages } = this.plan;
    this.floats(messages, rows.length).set(rows);
    this.kernels.expandRows(points, messages, address, padding);
  }

  /** W as `labels` rows of padded vectors (zero beyond the labels); W is symmetric. */
  private writeMatrix(compat: ResolvedCompatibility, address: number): void {
    const { labels, groups } = this.plan;
    const stride = groups * 4;
    const target = this.floats(address, labels * stride).fill(0);
    for (let l = 0; l < labels; l++) {
      for (let k = 0; k < labels; k++) {
        if (compat.kind === 'matrix') target[l * stride + k] = compat.weights[k * labels + l];
        else if (compat.kind === 'diagonal') target[l * stride + k] = k === l ? compat.weights[k] : 0;
      }
    }
  }

  private floats(address: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, address, length);
  }
}
