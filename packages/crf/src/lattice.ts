// Permutohedral lattice construction (Adams, Baek & Davis 2010) as densecrf v2 builds it: every
// step rounded to float32 in the reference's order, ties rounded half to even (SSE rounding), the
// same ranking, barycentric weights and vertex numbering. Bit-level agreement here is what makes
// our lattice the reference's lattice; the filtering arithmetic after it only differs by ulps.
import { canGenerateCode } from './filter-loops.js';
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

/**
 * Adding and subtracting 1.5 * 2^52 rounds a double to an integer, ties to even, exactly as SSE's
 * round-to-nearest does (and faster than Math.round plus a tie fix).
 */
const roundingMagic = 6755399441055744;

/** The float32 constants of the elevation and rounding, as the reference computes them. */
export function latticeConstants(d: number): { invD1: number; scale: Float64Array } {
  const d1 = d + 1;
  const invStdDev = f32(Math.sqrt(2 / 3) * d1);
  const scale = new Float64Array(d);
  for (let i = 0; i < d; i++) scale[i] = f32((1 / Math.sqrt((i + 2) * (i + 1))) * invStdDev);
  return { invD1: f32(1 / d1), scale };
}

/** Finds each point's simplex: fills offsets (vertex + 1) and barycentric weights, inserting vertices. */
export type LocatePoints = (
  features: Float32Array,
  points: number,
  offsets: Int32Array,
  weights: Float32Array,
  table: KeyTable,
) => void;

export function buildLattice(
  features: Float32Array,
  points: number,
  dims: number,
  options: { plainLoops?: boolean } = {},
): Lattice {
  const d1 = dims + 1;
  const offsets = new Int32Array(points * d1);
  const weights = new Float32Array(points * d1);
  const table = new KeyTable(dims, points / 4);
  const locate = options.plainLoops || !canGenerateCode() ? plainLocate(dims) : generatedLocate(dims);
  locate(features, points, offsets, weights, table);
  return { points, dims, vertices: table.size, offsets, weights, neighbours: findNeighbours(table, dims) };
}

/** The reference's loop, written once for any d. */
function plainLocate(d: number): LocatePoints {
  const d1 = d + 1;
  const { invD1, scale } = latticeConstants(d);
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
  const previousRem0 = new Float64Array(d1);
  const previousRank = new Int32Array(d1);

  return (features, points, offsets, weights, table) => {
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
        const v = f32(invD1 * elevated[i]) + roundingMagic - roundingMagic;
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
  };
}

const locateCache = new Map<number, LocatePoints>();

/** The same loop unrolled for one d, with every per-coordinate value in a local. */
function generatedLocate(d: number): LocatePoints {
  let locate = locateCache.get(d);
  if (!locate) {
    locate = new Function('KeyTableKey', generatedLocateSource(d))(Int32Array) as LocatePoints;
    locateCache.set(d, locate);
  }
  return locate;
}

export function generatedLocateSource(d: number): string {
  const d1 = d + 1;
  const { invD1, scale } = latticeConstants(d);
  const all = Array.from({ length: d1 }, (_, i) => i);
  const lines: string[] = [];
  const emit = (line: string) => lines.push(line);
  emit("'use strict';");
  emit('const f32 = Math.fround;');
  emit(`const magic = ${roundingMagic};`);
  emit(`const key = new KeyTableKey(${d});`);
  emit(`const bary = new Float64Array(${d + 2});`);
  emit('return function locate(features, points, offsets, weights, table) {');
  emit(all.map((i) => `let pr${i} = NaN, pk${i} = -1;`).join(' '));
  emit('for (let k = 0; k < points; k++) {');
  emit(`  const f = k * ${d};`);
  emit('  let sm = 0, cf = 0;');
  for (let j = d; j > 0; j--) {
    emit(`  cf = f32(features[f + ${j - 1}] * ${scale[j - 1]});`);
    emit(`  const e${j} = f32(sm - f32(${j} * cf));`);
    emit('  sm = f32(sm + cf);');
  }
  emit('  const e0 = sm;');
  for (const i of all)
    emit(`  const v${i} = f32(${invD1} * e${i}) + magic - magic; let r${i} = f32(v${i} * ${d1});`);
  emit(`  const sum = ${all.map((i) => `v${i}`).join(' + ')};`);
  emit(all.map((i) => `  let k${i} = 0;`).join(''));
  for (const i of all) emit(`  const di${i} = f32(e${i} - r${i});`);
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j <= d; j++) emit(`  if (di${i} < di${j}) k${i}++; else k${j}++;`);
  }
  for (const i of all) {
    emit(
      `  k${i} += sum; if (k${i} < 0) { k${i} += ${d1}; r${i} += ${d1}; } else if (k${i} >= ${d1}) { k${i} -= ${d1}; r${i} -= ${d1}; }`,
    );
  }
  emit(Array.from({ length: d + 2 }, (_, i) => `bary[${i}] = 0;`).join(' '));
  for (const i of all) {
    emit(
      `  { const v = f32(f32(e${i} - r${i}) * ${invD1}); const p = ${d} - k${i}; bary[p] = f32(bary[p] + v); bary[p + 1] = f32(bary[p + 1] - v); }`,
    );
  }
  emit(`  bary[0] = f32(bary[0] + f32(1 + bary[${d1}]));`);
  emit(`  const o = k * ${d1};`);
  emit(`  if (${all.map((i) => `r${i} === pr${i} && k${i} === pk${i}`).join(' && ')}) {`);
  for (const r of all) emit(`    offsets[o + ${r}] = offsets[o - ${d1} + ${r}];`);
  emit('  } else {');
  for (const r of all) {
    // canonical[r][rank] = r when rank <= d - r, else r - (d + 1).
    for (let i = 0; i < d; i++) emit(`    key[${i}] = r${i} + (k${i} <= ${d - r} ? ${r} : ${r - d1});`);
    emit(`    offsets[o + ${r}] = table.find(key, true) + 1;`);
  }
  emit(`    ${all.map((i) => `pr${i} = r${i}; pk${i} = k${i};`).join(' ')}`);
  emit('  }');
  for (const r of all) emit(`  weights[o + ${r}] = bary[${r}];`);
  emit('}');
  emit('};');
  return lines.join('\n');
}

/** For each blur axis j and vertex, the vertices one step along -e_j and +e_j of the lattice. */
function findNeighbours(table: KeyTable, d: number): Int32Array {
  const d1 = d + 1;
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
  return neighbours;
}
