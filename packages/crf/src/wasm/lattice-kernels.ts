import { latticeConstants } from '../lattice.js';
// Permutohedral lattice construction as WebAssembly, unrolled for one feature dimension d: the
// same float32 steps in the same order as lattice.ts (and the reference), where WebAssembly's f32
// arithmetic rounds as the reference's SSE code does without Math.fround. Vertices go into an
// open-addressing hash table in memory: `slots` holds vertex + 1 (0 = empty), `keys` d integers per
// vertex in insertion order, which is the reference's vertex numbering.
import { type Code, FunctionBuilder, type Local } from './encoder.js';
import { control, f32, forRange, i32, local } from './ops.js';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const get = local.get;
const set = local.set;

export const locateName = (dims: number) => `locate_d${dims}`;
export const rehashName = (dims: number) => `rehash_d${dims}`;
export const neighboursName = (dims: number) => `neighbours_d${dims}`;

interface Table {
  slots: Local;
  mask: Local;
  keys: Local;
}

/** Multiplicative hash of the key in `key` locals, masked to a slot. */
function hashOf(key: readonly Code[], mask: Local): Code {
  const mixed = key.reduce<Code>((h, k) => i32.mul(i32.add(h, k), i32.const(0x9e3779b1 | 0)), i32.const(0));
  return i32.and(i32.xor(mixed, i32.shrU(mixed, i32.const(16))), get(mask));
}

/**
 * Code that sets `vertex` to the vertex + 1 of `key` (0 if absent). With `onMissing`, that code runs
 * on an empty slot instead (it must set `vertex` or leave the function), with `slot` at the slot.
 */
function findVertex(
  f: FunctionBuilder,
  table: Table,
  key: readonly Local[],
  vertex: Local,
  slot: Local,
  onMissing: Code = [],
): Code {
  const dims = key.length;
  const base = f.local('i32');
  const same = key
    .map((k, c) => i32.eq(i32.load(get(base), c * 4), get(k)))
    .reduce((acc, test) => i32.and(acc, test));
  const slotAddress = i32.add(get(table.slots), i32.shl(get(slot), i32.const(2)));
  return [
    ...set(slot, hashOf(key.map(get), table.mask)),
    ...control.block(
      control.loop(
        set(vertex, i32.load(slotAddress)),
        control.if(i32.eqz(get(vertex)), onMissing, control.br(2)),
        set(base, i32.add(get(table.keys), i32.mul(i32.sub(get(vertex), i32.const(1)), i32.const(dims * 4)))),
        control.brIf(1, same),
        set(slot, i32.and(i32.add(get(slot), i32.const(1)), get(table.mask))),
        control.br(0),
      ),
    ),
  ];
}

/**
 * locate(features, start, end, offsets, weights, slots, mask, keys, capacity, state) -> point reached.
 * For points start..end-1 finds the enclosing simplex, writes offsets (vertex + 1) and barycentric
 * weights, and inserts new vertices. state: [vertex count i32, scratch for d + 2 floats]. Returns
 * `end`, or the point at which the table reached `capacity` vertices (grow it and resume there).
 */
export function locateKernel(d: number): FunctionBuilder {
  const d1 = d + 1;
  const { invD1, scale } = latticeConstants(d);
  const f = new FunctionBuilder(locateName(d));
  const [features, start, end, offsets, weights, slots, mask, keys, capacity, state] = range(10).map(() =>
    f.param('i32'),
  );
  f.result('i32');
  const table = { slots, mask, keys };
  const k = f.local('i32');
  const size = f.local('i32');
  const vertex = f.local('i32');
  const slot = f.local('i32');
  const sum = f.local('i32');
  const sm = f.local('f32');
  const cf = f.local('f32');
  const v = f.local('f32');
  const p = f.local('i32');
  const sameSimplex = f.local('i32');
  const less = f.local('i32');
  const e = range(d1).map(() => f.local('f32'));
  const r = range(d1).map(() => f.local('f32'));
  const di = range(d1).map(() => f.local('f32'));
  const rank = range(d1).map(() => f.local('i32'));
  const ri = range(d1).map(() => f.local('i32'));
  const previousR = range(d1).map(() => f.local('i32'));
  const previousRank = range(d1).map(() => f.local('i32'));
  const key = range(d).map(() => f.local('i32'));
  const featureAt = (j: number) => f32.load(i32.add(get(features), i32.mul(get(k), i32.const(d * 4))), j * 4);
  const bary = i32.add(get(state), i32.const(4));
  const baryAt = (index: Code) => i32.add(bary, i32.shl(index, i32.const(2)));
  const cornerOf = (c: number) =>
    i32.add(get(offsets), i32.shl(i32.add(i32.mul(get(k), i32.const(d1)), i32.const(c)), i32.const(2)));
  const weightOf = (c: number) =>
    i32.add(get(weights), i32.shl(i32.add(i32.mul(get(k), i32.const(d1)), i32.const(c)), i32.const(2)));

  const elevate: Code[] = [set(sm, f32.const(0))];
  for (let j = d; j > 0; j--) {
    elevate.push(
      set(cf, f32.mul(featureAt(j - 1), f32.const(scale[j - 1]))),
      set(e[j], f32.sub(get(sm), f32.mul(f32.const(j), get(cf)))),
      set(sm, f32.add(get(sm), get(cf))),
    );
  }
  elevate.push(set(e[0], get(sm)));

  const nearest: Code[] = [set(sum, i32.const(0))];
  for (let i = 0; i <= d; i++) {
    nearest.push(
      set(v, f32.nearest(f32.mul(f32.const(invD1), get(e[i])))),
      set(r[i], f32.mul(get(v), f32.const(d1))),
      set(sum, i32.add(get(sum), i32.truncF32S(get(v)))),
      set(rank[i], i32.const(0)),
      set(di[i], f32.sub(get(e[i]), get(r[i]))),
    );
  }
  const ranking: Code[] = [];
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j <= d; j++) {
      // if (di < dj) rank[i]++ else rank[j]++, without a branch (the outcome is data-dependent).
      ranking.push(
        set(less, f32.lt(get(di[i]), get(di[j]))),
        set(rank[i], i32.add(get(rank[i]), get(less))),
        set(rank[j], i32.add(get(rank[j]), i32.sub(i32.const(1), get(less)))),
      );
    }
  }
  const wrap: Code[] = range(d1).flatMap((i) => [
    set(rank[i], i32.add(get(rank[i]), get(sum))),
    control.ifElse(
      i32.ltS(get(rank[i]), i32.const(0)),
      [set(rank[i], i32.add(get(rank[i]), i32.const(d1))), set(r[i], f32.add(get(r[i]), f32.const(d1)))],
      [
        control.if(
          i32.geS(get(rank[i]), i32.const(d1)),
          set(rank[i], i32.sub(get(rank[i]), i32.const(d1))),
          set(r[i], f32.sub(get(r[i]), f32.const(d1))),
        ),
      ],
    ),
    set(ri[i], i32.truncF32S(get(r[i]))),
  ]);

  const barycentric: Code[] = [
    ...range(d + 2).map((i) => f32.store(bary, f32.const(0), i * 4)),
    ...range(d1).flatMap((i) => [
      set(v, f32.mul(f32.sub(get(e[i]), get(r[i])), f32.const(invD1))),
      set(p, baryAt(i32.sub(i32.const(d), get(rank[i])))),
      f32.store(get(p), f32.add(f32.load(get(p)), get(v))),
      f32.store(get(p), f32.sub(f32.load(get(p), 4), get(v)), 4),
    ]),
    f32.store(bary, f32.add(f32.load(bary), f32.add(f32.const(1), f32.load(bary, d1 * 4)))),
  ];

  const sameAsPrevious = range(d1)
    .map((i) => i32.and(i32.eq(get(ri[i]), get(previousR[i])), i32.eq(get(rank[i]), get(previousRank[i]))))
    .reduce((acc, test) => i32.and(acc, test));

  const insert: Code = [
    // The table is full: report where to resume after growing it.
    ...control.if(
      i32.geS(get(size), get(capacity)),
      i32.store(get(state), get(size)),
      control.return(get(k)),
    ),
    ...set(size, i32.add(get(size), i32.const(1))),
    ...set(vertex, get(size)),
    ...i32.store(i32.add(get(slots), i32.shl(get(slot), i32.const(2))), get(vertex)),
    ...key.flatMap((kc, c) =>
      i32.store(
        i32.add(get(keys), i32.mul(i32.sub(get(vertex), i32.const(1)), i32.const(d * 4))),
        get(kc),
        c * 4,
      ),
    ),
  ];

  const corners: Code[] = range(d1).flatMap((c) => [
    // key_i = r_i + (rank_i <= d - c ? c : c - d1)
    ...key.map((kc, i) =>
      set(
        kc,
        i32.add(
          get(ri[i]),
          control.select(i32.const(c), i32.const(c - d1), i32.leS(get(rank[i]), i32.const(d - c))),
        ),
      ),
    ),
    findVertex(f, table, key, vertex, slot, insert),
    i32.store(cornerOf(c), get(vertex)),
  ]);

  const body: Code[] = [
    ...elevate,
    ...nearest,
    ...ranking,
    ...wrap,
    ...barycentric,
    set(sameSimplex, sameAsPrevious),
    control.ifElse(
      get(sameSimplex),
      range(d1).map((c) => i32.store(cornerOf(c), i32.load(i32.sub(cornerOf(c), i32.const(d1 * 4))))),
      [
        ...corners,
        ...range(d1).flatMap((i) => [set(previousR[i], get(ri[i])), set(previousRank[i], get(rank[i]))]),
      ],
    ),
    ...range(d1).map((c) => f32.store(weightOf(c), f32.load(bary, c * 4))),
  ];

  f.body = [
    ...set(size, i32.load(get(state))),
    // No previous simplex yet: a rank of -1 never occurs.
    ...previousRank.flatMap((pr) => set(pr, i32.const(-1))),
    ...forRange(k, get(start), get(end), 1, ...body),
    ...i32.store(get(state), get(size)),
    ...get(end),
  ];
  return f;
}

/** rehash(keys, count, slots, mask): inserts vertices 1..count into an empty slot table. */
export function rehashKernel(d: number): FunctionBuilder {
  const f = new FunctionBuilder(rehashName(d));
  const [keys, count, slots, mask] = range(4).map(() => f.param('i32'));
  const vertex = f.local('i32');
  const slot = f.local('i32');
  const base = f.local('i32');
  const slotAddress = i32.add(get(slots), i32.shl(get(slot), i32.const(2)));
  f.body = forRange(
    vertex,
    i32.const(1),
    i32.add(get(count), i32.const(1)),
    1,
    set(base, i32.add(get(keys), i32.mul(i32.sub(get(vertex), i32.const(1)), i32.const(d * 4)))),
    set(
      slot,
      hashOf(
        range(d).map((c) => i32.load(get(base), c * 4)),
        mask,
      ),
    ),
    control.block(
      control.loop(
        control.brIf(1, i32.eqz(i32.load(slotAddress))),
        set(slot, i32.and(i32.add(get(slot), i32.const(1)), get(mask))),
        control.br(0),
      ),
    ),
    i32.store(slotAddress, get(vertex)),
  );
  return f;
}

/**
 * neighbours(keys, first, end, slots, mask, out, axis): for vertices first..end-1, the vertices one
 * step along -e_axis and +e_axis (vertex + 1, or 0 when absent), as pairs of integers from `out`.
 */
export function neighboursKernel(d: number): FunctionBuilder {
  const f = new FunctionBuilder(neighboursName(d));
  const [keys, first, end, slots, mask, out, axis] = range(7).map(() => f.param('i32'));
  const table = { slots, mask, keys };
  const vertex = f.local('i32');
  const found = f.local('i32');
  const slot = f.local('i32');
  const base = f.local('i32');
  const key = range(d).map(() => f.local('i32'));
  // Along axis j: n1 = key - 1 except key_j + d at j; n2 = key + 1 except key_j - d (no exception at j = d).
  const neighbour = (sign: 1 | -1) =>
    key.map((kc, c) =>
      set(
        kc,
        i32.add(
          i32.load(get(base), c * 4),
          control.select(i32.const(sign * d), i32.const(-sign), i32.eq(get(axis), i32.const(c))),
        ),
      ),
    );
  f.body = forRange(
    vertex,
    get(first),
    get(end),
    1,
    set(base, i32.add(get(keys), i32.mul(get(vertex), i32.const(d * 4)))),
    ...neighbour(1),
    findVertex(f, table, key, found, slot),
    i32.store(get(out), get(found)),
    ...neighbour(-1),
    findVertex(f, table, key, found, slot),
    i32.store(get(out), get(found), 4),
    set(out, i32.add(get(out), i32.const(8))),
  );
  return f;
}
