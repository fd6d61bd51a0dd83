import {
  type Compatibility,
  type ResolvedCompatibility,
  resolveCompatibility,
  subtractCompatibility,
} from './compatibility.js';
import { InputError } from './errors.js';
import { ExactFilter } from './exact-filter.js';
import type { Features } from './features.js';
import { LatticeFilter } from './lattice-filter.js';
import { argmaxLabels } from './map.js';
import type { Normalization, PairwiseFilter } from './pairwise-filter.js';
import { softmaxFor } from './softmax.js';
import {
  requireAllFinite,
  requireLength,
  requireNonNegativeInteger,
  requirePositiveInteger,
} from './validate.js';
import { WasmMeanField } from './wasm/mean-field.js';
import { WasmUnavailableError, wasmSimdSupported } from './wasm/runtime.js';

export interface DenseCrfOptions {
  /**
   * 'lattice' (default): permutohedral-lattice filtering, linear in pixels, as the reference.
   * 'exact': every pair summed, O(N^2): an oracle for small images (a few thousand pixels).
   */
  method?: 'lattice' | 'exact';
  /**
   * Where the lattice is built and mean field runs. 'wasm': WebAssembly SIMD kernels generated at run
   * time (4-9x faster than 'js' in our bench). 'js': TypeScript loops, for realms without WebAssembly
   * SIMD or where a Content-Security-Policy forbids compiling it. 'auto' (default): 'wasm' when
   * available, else 'js'.
   */
  engine?: 'auto' | 'wasm' | 'js';
  /** Use plain loops instead of generated, unrolled ones (engine 'js'; the same numbers, slower). */
  plainLoops?: boolean;
}

export interface PairwiseOptions {
  compat: Compatibility;
  /** Default 'symmetric', the reference's default. */
  normalization?: Normalization;
}

export interface PairwiseTerm {
  readonly filter: PairwiseFilter;
  readonly compat: ResolvedCompatibility;
}

/** Mean-field state of a stepwise inference: `q` is updated in place by stepInference. */
export interface InferenceState {
  readonly q: Float32Array;
  /** Iterations done so far. */
  iteration: number;
}

const maxLabels = 256;

/** The WebAssembly state behind each stepwise inference (collected with it). */
const wasmStates = new WeakMap<InferenceState, WasmMeanField>();

function resolveEngine(
  engine: DenseCrfOptions['engine'],
  plainLoops: boolean,
  method: 'lattice' | 'exact',
): 'wasm' | 'js' {
  const requested = engine ?? 'auto';
  if (requested !== 'auto' && requested !== 'wasm' && requested !== 'js') {
    throw new InputError('options.engine', `must be 'auto', 'wasm' or 'js', got ${String(engine)}`);
  }
  if (requested === 'wasm') {
    if (method === 'exact') throw new InputError('options.engine', "'wasm' needs method 'lattice'");
    if (plainLoops) throw new InputError('options.engine', "'wasm' does not take plainLoops (a 'js' option)");
    if (!wasmSimdSupported()) {
      throw new InputError(
        'options.engine',
        "'wasm' needs WebAssembly SIMD, which this runtime cannot compile",
      );
    }
    return 'wasm';
  }
  if (requested === 'js' || plainLoops || method === 'exact') return 'js';
  return wasmSimdSupported() ? 'wasm' : 'js';
}
const normalizations: readonly Normalization[] = ['symmetric', 'before', 'after', 'none'];

/**
 * Fully connected CRF over N points with Gaussian edge potentials (Krähenbühl & Koltun 2011) and
 * mean-field inference, with densecrf's semantics. Arrays are N x labels, row-major (label fastest).
 */
export class DenseCRF {
  readonly points: number;
  readonly labels: number;
  readonly method: 'lattice' | 'exact';
  readonly plainLoops: boolean;
  private resolvedEngine: 'wasm' | 'js';
  private readonly engineRequested: 'auto' | 'wasm' | 'js';
  private unary: Float32Array | undefined;
  private readonly pairwise: PairwiseTerm[] = [];
  /** -sum_k compat_k(filtered_k(Q)): the update is Q = softmax(messages - U). */
  private messages: Float32Array | undefined;
  private filtered: Float32Array | undefined;

  constructor(points: number, labels: number, options: DenseCrfOptions = {}) {
    requirePositiveInteger('points', points);
    if (!Number.isInteger(labels) || labels < 2 || labels > maxLabels) {
      throw new InputError('labels', `must be an integer from 2 to ${maxLabels}, got ${labels}`);
    }
    const method = options.method ?? 'lattice';
    if (method !== 'lattice' && method !== 'exact') {
      throw new InputError('options.method', `must be 'lattice' or 'exact', got ${String(method)}`);
    }
    this.points = points;
    this.labels = labels;
    this.method = method;
    this.plainLoops = options.plainLoops ?? false;
    this.resolvedEngine = resolveEngine(options.engine, this.plainLoops, method);
    this.engineRequested = options.engine ?? 'auto';
  }

  /**
   * The engine in use: 'wasm' or 'js' (see DenseCrfOptions.engine). An 'auto' CRF turns to 'js' if
   * the kernels cannot be compiled where it runs (e.g. a browser's main thread; see prepareWasm).
   */
  get engine(): 'wasm' | 'js' {
    return this.resolvedEngine;
  }

  /**
   * The unary energy U = -log p, N x labels row-major, finite. The array is used as given (not
   * copied): do not change it while inference runs.
   */
  setUnaryEnergy(unary: Float32Array): void {
    if (!(unary instanceof Float32Array)) throw new InputError('unary', 'must be a Float32Array');
    requireLength('unary', unary, this.points * this.labels, `${this.points} pixels x ${this.labels} labels`);
    requireAllFinite('unary', unary, this.labels);
    this.unary = unary;
  }

  /** A Gaussian kernel over arbitrary features: N x dims, point-major, already divided by their widths. */
  addPairwiseEnergy(features: Float32Array, dims: number, options: PairwiseOptions): void {
    requirePositiveInteger('dims', dims);
    if (!(features instanceof Float32Array)) throw new InputError('features', 'must be a Float32Array');
    requireLength('features', features, this.points * dims, `${this.points} points x ${dims} features`);
    requireAllFinite('features', features, dims);
    this.addPairwiseFeatures({ data: features, dims }, options);
  }

  protected addPairwiseFeatures(features: Features, options: PairwiseOptions): void {
    if (options === null || typeof options !== 'object') throw new InputError('options', 'must be an object');
    const compat = resolveCompatibility('compat', options.compat, this.labels);
    const normalization = options.normalization ?? 'symmetric';
    if (!normalizations.includes(normalization)) {
      throw new InputError(
        'normalization',
        `must be one of ${normalizations.join(', ')}, got ${String(normalization)}`,
      );
    }
    const filter =
      this.method === 'exact'
        ? new ExactFilter(features, normalization)
        : new LatticeFilter(features, normalization, {
            plainLoops: this.plainLoops,
            wasm: this.engine === 'wasm',
          });
    this.pairwise.push({ filter, compat });
  }

  /** @internal The pairwise terms added so far, in order (read by the threaded runner). */
  get pairwiseTerms(): readonly PairwiseTerm[] {
    return this.pairwise;
  }

  /** The unary energy; throws if setUnaryEnergy was not called. */
  unaryEnergy(): Float32Array {
    if (!this.unary) throw new InputError('unary', 'setUnaryEnergy must be called before inference');
    return this.unary;
  }

  /** Runs `iterations` mean-field updates from softmax(-U); returns Q (N x labels). */
  inference(iterations: number): Float32Array {
    requireNonNegativeInteger('iterations', iterations);
    const meanField = this.engine === 'wasm' ? this.wasmOrFallback() : undefined;
    if (meanField) {
      try {
        meanField.start();
        for (let it = 0; it < iterations; it++) meanField.step();
        return meanField.readQ();
      } finally {
        meanField.dispose();
      }
    }
    const state = this.startInference();
    for (let it = 0; it < iterations; it++) this.stepInference(state);
    return state.q;
  }

  /** Q0 = softmax(-U), the start of a stepwise inference (e.g. to show progress in a UI). */
  startInference(): InferenceState {
    const unary = this.unaryEnergy();
    const meanField = this.engine === 'wasm' ? this.wasmOrFallback() : undefined;
    if (meanField) {
      meanField.start();
      const state = { q: meanField.readQ(), iteration: 0 };
      wasmStates.set(state, meanField);
      return state;
    }
    const q = new Float32Array(unary.length);
    const messages = this.messageBuffer();
    messages.fill(0);
    softmaxFor(this.labels, this.plainLoops)(messages, unary, q, 0, this.points);
    return { q, iteration: 0 };
  }

  /** One mean-field update of state.q in place: Q <- softmax(-U - sum_k compat_k(filtered_k(Q))). */
  stepInference(state: InferenceState): void {
    const unary = this.unaryEnergy();
    if (state?.q?.length !== unary.length) {
      throw new InputError('state', 'is not an inference state of this CRF (use startInference)');
    }
    let meanField = wasmStates.get(state);
    if (!meanField && this.engine === 'wasm') {
      meanField = this.wasmOrFallback();
      if (meanField) wasmStates.set(state, meanField);
    }
    if (meanField) {
      // Q is written in and read back so that the state's array stays the one truth.
      meanField.writeQ(state.q);
      meanField.step();
      meanField.readQInto(state.q);
      state.iteration++;
      return;
    }
    const messages = this.messageBuffer();
    messages.fill(0);
    this.addMessages(state.q, messages);
    softmaxFor(this.labels, this.plainLoops)(messages, unary, state.q, 0, this.points);
    state.iteration++;
  }

  /** The MAP labels of Q (first label on ties). */
  map(q: Float32Array): Uint8Array {
    requireLength('q', q, this.points * this.labels, `${this.points} pixels x ${this.labels} labels`);
    return argmaxLabels(q, this.labels);
  }

  /**
   * KL(Q || P) up to the log partition function, as the reference's klDivergence:
   * sum Q log Q + sum U Q + sum_k sum Q compat_k(filtered_k(Q)).
   */
  klDivergence(q: Float32Array): number {
    const unary = this.unaryEnergy();
    requireLength('q', q, unary.length, `${this.points} pixels x ${this.labels} labels`);
    let kl = 0;
    for (let i = 0; i < q.length; i++) kl += q[i] * Math.log(Math.max(q[i], 1e-20)) + unary[i] * q[i];
    const messages = new Float32Array(q.length);
    this.addMessages(q, messages);
    for (let i = 0; i < q.length; i++) kl -= q[i] * messages[i];
    return kl;
  }

  /** messages -= compat_k(filtered_k(q)) for every pairwise term. */
  private addMessages(q: Float32Array, messages: Float32Array): void {
    for (const { filter, compat } of this.pairwise) {
      if (compat.kind === 'potts') {
        // Potts returns -w * filtered, which the update subtracts.
        filter.filterInto(q, this.labels, compat.weight, messages);
      } else {
        if (!this.filtered) this.filtered = new Float32Array(q.length);
        else this.filtered.fill(0);
        filter.filterInto(q, this.labels, 1, this.filtered);
        subtractCompatibility(compat, this.filtered, this.labels, messages);
      }
    }
  }

  /**
   * @internal A fresh WebAssembly mean-field state over the current unary and pairwise terms, laid
   * out for `threads` threads (shared memory when more than one; see CrfThreadPool).
   */
  createWasmMeanField(threads = 1): WasmMeanField {
    const terms = this.pairwise.map(({ filter, compat }) => {
      if (!(filter instanceof LatticeFilter)) throw new Error('engine wasm needs lattice filters');
      return { lattice: filter.lattice, pre: filter.pre, post: filter.post, alpha: filter.alpha, compat };
    });
    return new WasmMeanField(this.points, this.labels, this.unaryEnergy(), terms, threads);
  }

  /** The WebAssembly mean field, or undefined after turning to 'js' where it cannot be compiled. */
  private wasmOrFallback(threads = 1): WasmMeanField | undefined {
    try {
      return this.createWasmMeanField(threads);
    } catch (error) {
      if (!(error instanceof WasmUnavailableError)) throw error;
      if (this.engineRequested === 'wasm') {
        throw new InputError(
          'options.engine',
          "'wasm': this realm refuses to compile the kernels synchronously (a browser's main thread " +
            'allows 4 KB): run the CRF in a Worker, or await prepareWasm() first',
        );
      }
      this.resolvedEngine = 'js';
      return undefined;
    }
  }

  private messageBuffer(): Float32Array {
    if (!this.messages) this.messages = new Float32Array(this.points * this.labels);
    return this.messages;
  }
}
