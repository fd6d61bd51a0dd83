// The three steps of permutohedral filtering (splat, blur, slice) over a block of `width` labels
// starting at label `first` of `stride`-label rows. Two builds of the same loops: code generated and
// unrolled for the exact (d + 1, width), which V8 compiles to tight straight-line code, and plain
// loops for where generating code is not allowed (a Content-Security-Policy without 'unsafe-eval').

export interface FilterLoops {
  /** values[vertex] += w * pre[i] * input[i] for each point i and its d + 1 vertices; values starts zeroed. */
  splat(
    points: number,
    stride: number,
    first: number,
    offsets: Int32Array,
    weights: Float32Array,
    pre: Float32Array,
    input: Float32Array,
    values: Float32Array,
  ): void;
  /** d + 1 passes of [1/2 1 1/2] along each lattice axis; returns the buffer holding the result. */
  blur(vertices: number, neighbours: Int32Array, values: Float32Array, scratch: Float32Array): Float32Array;
  /** out[i] += scale * post[i] * sum_j w_ij values[vertex_ij] for points start..end-1. */
  slice(
    start: number,
    end: number,
    stride: number,
    first: number,
    offsets: Int32Array,
    weights: Float32Array,
    post: Float32Array,
    scale: number,
    values: Float32Array,
    out: Float32Array,
  ): void;
}

export function plainLoops(vertexCount: number, width: number): FilterLoops {
  const d1 = vertexCount;
  return {
    splat(points, stride, first, offsets, weights, pre, input, values) {
      for (let i = 0; i < points; i++) {
        const s = pre[i];
        const base = i * stride + first;
        for (let j = 0; j < d1; j++) {
          const o = offsets[i * d1 + j] * width;
          const w = weights[i * d1 + j] * s;
          for (let k = 0; k < width; k++) values[o + k] += w * input[base + k];
        }
      }
    },
    blur(vertices, neighbours, values, scratch) {
      let src = values;
      let dst = scratch;
      for (let j = 0; j < d1; j++) {
        for (let i = 0; i < vertices; i++) {
          const at = (j * vertices + i) * 2;
          const o = (i + 1) * width;
          const n1 = neighbours[at] * width;
          const n2 = neighbours[at + 1] * width;
          for (let k = 0; k < width; k++) dst[o + k] = src[o + k] + 0.5 * (src[n1 + k] + src[n2 + k]);
        }
        const t = src;
        src = dst;
        dst = t;
      }
      return src;
    },
    slice(start, end, stride, first, offsets, weights, post, scale, values, out) {
      for (let i = start; i < end; i++) {
        const c = scale * post[i];
        const base = i * stride + first;
        for (let k = 0; k < width; k++) {
          let acc = 0;
          for (let j = 0; j < d1; j++) acc += weights[i * d1 + j] * values[offsets[i * d1 + j] * width + k];
          out[base + k] += c * acc;
        }
      }
    },
  };
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Source of the unrolled loops; `new Function` turns it into a FilterLoops. */
export function generatedLoopsSource(vertexCount: number, width: number): string {
  const d1 = vertexCount;
  const js = range(d1);
  const ks = range(width);
  const loadCorners = (scaleWeight: boolean) =>
    js
      .map(
        (j) =>
          `const o${j} = offsets[ob + ${j}] * ${width}, w${j} = weights[ob + ${j}]${scaleWeight ? ' * s' : ''};`,
      )
      .join('\n');
  const splatBody = ks
    .map((k) => `x = input[b + ${k}]; ${js.map((j) => `values[o${j} + ${k}] += w${j} * x;`).join(' ')}`)
    .join('\n');
  const sliceBody = ks
    .map((k) => `out[b + ${k}] += c * (${js.map((j) => `w${j} * values[o${j} + ${k}]`).join(' + ')});`)
    .join('\n');
  const blurBody = ks
    .map((k) => `dst[o + ${k}] = src[o + ${k}] + 0.5 * (src[n1 + ${k}] + src[n2 + ${k}]);`)
    .join('\n');
  return `
'use strict';
function splat(points, stride, first, offsets, weights, pre, input, values) {
  for (let i = 0; i < points; i++) {
    const s = pre[i];
    const b = i * stride + first;
    const ob = i * ${d1};
    ${loadCorners(true)}
    let x = 0;
    ${splatBody}
  }
}
function blur(vertices, neighbours, values, scratch) {
  let src = values;
  let dst = scratch;
  for (let j = 0; j < ${d1}; j++) {
    const nb = j * vertices * 2;
    for (let i = 0; i < vertices; i++) {
      const o = (i + 1) * ${width};
      const n1 = neighbours[nb + 2 * i] * ${width};
      const n2 = neighbours[nb + 2 * i + 1] * ${width};
      ${blurBody}
    }
    const t = src; src = dst; dst = t;
  }
  return src;
}
function slice(start, end, stride, first, offsets, weights, post, scale, values, out) {
  for (let i = start; i < end; i++) {
    const c = scale * post[i];
    const b = i * stride + first;
    const ob = i * ${d1};
    ${loadCorners(false)}
    ${sliceBody}
  }
}
return { splat, blur, slice };
`;
}

let codegenAllowed: boolean | undefined;

/** Whether this realm lets us compile generated code (CSP may forbid it in browsers). */
export function canGenerateCode(): boolean {
  if (codegenAllowed === undefined) {
    try {
      codegenAllowed = new Function('return 1')() === 1;
    } catch {
      codegenAllowed = false;
    }
  }
  return codegenAllowed;
}

const cache = new Map<string, FilterLoops>();

// Unrolling is a win while the body stays small enough for V8 to optimise.
const maxUnrolledWidth = 64;

/** The fastest loops for (d + 1, width) this realm allows; `plain` forces the plain loops. */
export function filterLoops(vertexCount: number, width: number, plain = false): FilterLoops {
  if (plain || width > maxUnrolledWidth || !canGenerateCode()) return plainLoops(vertexCount, width);
  const key = `${vertexCount}x${width}`;
  let loops = cache.get(key);
  if (!loops) {
    loops = new Function(generatedLoopsSource(vertexCount, width))() as FilterLoops;
    cache.set(key, loops);
  }
  return loops;
}
