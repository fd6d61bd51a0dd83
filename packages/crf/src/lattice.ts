// Permutohedral lattice construction (Adams, Baek & Davis 2010) as densecrf v2 builds it: every
// step rounded to float32 in the reference's order, ties rounded half to even (SSE rounding), the
// same ranking, barycentric weights and vertex numbering. Bit-level agreement here is what makes
// our lattice the reference's lattice; the filtering arithmetic after it only differs by ulps.
import { KeyTable } from './key-table.js';

const f32 = Math.fround;

export interface Lattice {
  /** Number of points (pixels) N. */
  readonly points: number;
  /** Feature dimension d; every point touches d + 1 vertices. */
  readonly dims: number;
  /** Number of lattice vertices M. */
  readonly vertices: number;
  /** N x (d+1): vertex index + 1 of each point's simplex corners (0 is the empty vertex). */
  readonly offsets: Int32Array;
  /** N x (d+1): barycentric weights matching `offsets`. */
  readonly weights: Float32Array;
  /** (d+1) x M x 2: for each blur axis and vertex, its two neighbours' index + 1 (0 = none). */
  readonly neighbours: Int32Array;
}

/** Ties go to the even integer, as SSE's round-to-nearest does. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function buildLattice(features: Float32Array, points: number, dims: number): Lattice {
  const d = dims;
  const d1 = d + 1;
  const invD1 = f32(1 / d1);
  const invStdDev = f32(Math.sqrt(2 / 3) * d1);
  const scale = new Float64Array(d);
  for (let i = 0; i < d; i++) scale[i] = f32((1 / Math.sqrt((i + 2) * (i + 1))) * invStdDev);

  // canonical[r][i]: coordinate i of the remainder-r vertex of the canonical simplex.
  const canonical = new Int32Array(d1 * d1);
  for (let r = 0; r <= d; r++) {
    for (let i = 0; i <= d - r; i++) canonical[r * d1 + i] = r;
    for (let i = d - r + 1; i <= d; i++) canonical[r * d1 + i] = r - d1;
  }

  const elevated = new Float64Array(d1);
  const rem0 = new Float64Array(d1);
  const rank = new Int32Array(d1);
  const bary = new Float64Array(d + 2);
  const key = new Int32Array(d);
  const previousRem0 = new Float64Array(d1).fill(Number.NaN);
  const previousRank = new Int32Array(d1);

  const offsets = new Int32Array(points * d1);
  const weights = new Float32Array(points * d1);
  const table = new KeyTable(d, points / 4);

  for (let k = 0; k < points; k++) {
    const f = k * d;
    // Elevate onto the plane sum(x) = 0 (y = E f).
    let sm = 0;
    for (let j = d; j > 0; j--) {
      const cf = f32(features[f + j - 1] * scale[j - 1]);
      elevated[j] = f32(sm - f32(j * cf));
      sm = f32(sm + cf);
    }
    elevated[0] = sm;

    // The nearest remainder-0 point, by rounding each coordinate to a multiple of d + 1.
    let sum = 0;
    for (let i = 0; i <= d; i++) {
      const v = roundHalfEven(f32(invD1 * elevated[i]));
      rem0[i] = f32(v * d1);
      sum += v;
    }

    // Rank the differences to find the simplex; ties keep the reference's order.
    rank.fill(0);
    for (let i = 0; i < d; i++) {
      const di = f32(elevated[i] - rem0[i]);
      for (let j = i + 1; j <= d; j++) {
        if (di < f32(elevated[j] - rem0[j])) rank[i]++;
        else rank[j]++;
      }
    }
    // Bring the point back onto the plane if the rounding left it off.
    for (let i = 0; i <= d; i++) {
      rank[i] += sum;
      if (rank[i] < 0) {
        rank[i] += d1;
        rem0[i] += d1;
      } else if (rank[i] >= d1) {
        rank[i] -= d1;
        rem0[i] -= d1;
      }
    }

    bary.fill(0);
    for (let i = 0; i <= d; i++) {
      const v = f32(f32(elevated[i] - rem0[i]) * invD1);
      const p = d - rank[i];
      bary[p] = f32(bary[p] + v);
      bary[p + 1] = f32(bary[p + 1] - v);
    }
    bary[0] = f32(bary[0] + f32(1 + bary[d + 1]));

    const o = k * d1;
    // Neighbouring pixels often share a simplex: then the vertices are the previous pixel's.
    let sameSimplex = k > 0;
    for (let i = 0; i <= d && sameSimplex; i++) {
      sameSimplex = rem0[i] === previousRem0[i] && rank[i] === previousRank[i];
    }
    if (sameSimplex) {
      for (let r = 0; r <= d; r++) offsets[o + r] = offsets[o - d1 + r];
    } else {
      for (let r = 0; r <= d; r++) {
        for (let i = 0; i < d; i++) key[i] = rem0[i] + canonical[r * d1 + rank[i]];
        offsets[o + r] = table.find(key, true) + 1;
      }
      previousRem0.set(rem0);
      previousRank.set(rank);
    }
    for (let r = 0; r <= d; r++) weights[o + r] = bary[r];
  }

  const vertices = table.size;
  const neighbours = new Int32Array(d1 * vertices * 2);
  const n1 = new Int32Array(d);
  const n2 = new Int32Array(d);
  const vertexKey = new Int32Array(d);
  for (let j = 0; j <= d; j++) {
    for (let i = 0; i < vertices; i++) {
      table.keyOf(i, vertexKey);
      for (let c = 0; c < d; c++) {
        n1[c] = vertexKey[c] - 1;
        n2[c] = vertexKey[c] + 1;
      }
      if (j < d) {
        n1[j] = vertexKey[j] + d;
        n2[j] = vertexKey[j] - d;
      }
      const at = (j * vertices + i) * 2;
      neighbours[at] = table.find(n1, false) + 1;
      neighbours[at + 1] = table.find(n2, false) + 1;
    }
  }
  return { points, dims, vertices, offsets, weights, neighbours };
}
