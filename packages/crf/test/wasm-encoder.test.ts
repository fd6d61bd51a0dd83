import { describe, expect, it } from 'vitest';
// Our WebAssembly writer against an independent one: wabt (the WebAssembly Binary Toolkit) assembles
// the same functions from text, and the two modules must be byte-identical.
import wabtInit from 'wabt';
import {
  type Code,
  FunctionBuilder,
  type Local,
  encodeModule,
  signedLeb,
  unsignedLeb,
} from '../src/wasm/encoder.js';
import { kernelFunctions } from '../src/wasm/kernels.js';
import { locateKernel, neighboursKernel, rehashKernel } from '../src/wasm/lattice-kernels.js';
import { control, f32, f32x4, forRange, i32, i32x4, local, memory, v128 } from '../src/wasm/ops.js';

const wabt = await wabtInit();

/** Assembles `(func (export "f") (param i32 v128 v128 f32) (local v128 i32) BODY)` with wabt. */
function assemble(body: string): number[] {
  const wat = `(module (import "env" "memory" (memory 0)) (func (export "f") (param i32 v128 v128 f32) (local v128 i32) ${body}))`;
  const module = wabt.parseWat('case.wat', wat, { simd: true });
  return Array.from(module.toBinary({}).buffer);
}

/** Our encoding of the same function. */
function encode(
  build: (p: { a: Local; u: Local; v: Local; x: Local; t: Local; n: Local }) => Code,
): number[] {
  const f = new FunctionBuilder('f');
  const a = f.param('i32');
  const u = f.param('v128');
  const v = f.param('v128');
  const x = f.param('f32');
  const t = f.local('v128');
  const n = f.local('i32');
  f.body = build({ a, u, v, x, t, n });
  return Array.from(encodeModule([f], { minimumPages: 0, shared: false }));
}

const { get, set } = local;

const cases: [string, string, Parameters<typeof encode>[0]][] = [
  [
    'memory.copy and memory.fill',
    'local.get 0 local.get 5 local.get 0 memory.copy local.get 0 i32.const 0 local.get 5 memory.fill',
    ({ a, n }) => [...memory.copy(get(a), get(n), get(a)), ...memory.fill(get(a), i32.const(0), get(n))],
  ],
  [
    'f32x4 arithmetic',
    'local.get 1 local.get 2 f32x4.add local.get 2 f32x4.mul local.get 1 f32x4.sub local.get 2 f32x4.div local.set 4',
    ({ u, v, t }) =>
      set(t, f32x4.div(f32x4.sub(f32x4.mul(f32x4.add(get(u), get(v)), get(v)), get(u)), get(v))),
  ],
  [
    'f32x4 sqrt',
    'local.get 1 f32x4.sqrt local.get 2 f32x4.add local.set 4',
    ({ u, v, t }) => set(t, f32x4.add(f32x4.sqrt(get(u)), get(v))),
  ],
  [
    'min, max, pmin, pmax, lt, gt',
    'local.get 1 local.get 2 f32x4.min local.get 2 f32x4.max local.get 1 f32x4.pmin local.get 2 f32x4.pmax local.get 1 f32x4.lt local.get 2 f32x4.gt local.set 4',
    ({ u, v, t }) =>
      set(
        t,
        f32x4.gt(
          f32x4.lt(
            f32x4.pmax(f32x4.pmin(f32x4.max(f32x4.min(get(u), get(v)), get(v)), get(u)), get(v)),
            get(u),
          ),
          get(v),
        ),
      ),
  ],
  [
    'loads, stores and splats with offsets',
    'local.get 0 local.get 0 v128.load offset=48 v128.store offset=1600 local.get 0 v128.load32_splat offset=8 local.get 3 f32x4.splat f32x4.add local.set 4',
    ({ a, t, x }) => [
      ...v128.store(get(a), v128.load(get(a), 48), 1600),
      ...set(t, f32x4.add(v128.load32Splat(get(a), 8), f32x4.splat(get(x)))),
    ],
  ],
  [
    'lanes, shuffles, bit operations',
    'local.get 1 local.get 2 i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 local.get 2 v128.and local.get 1 local.get 2 v128.bitselect f32x4.extract_lane 3 f32x4.splat local.set 4',
    ({ u, v, t }) =>
      set(
        t,
        f32x4.splat(
          f32x4.extractLane(
            v128.bitselect(
              v128.and(
                v128.shuffle(get(u), get(v), [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]),
                get(v),
              ),
              get(u),
              get(v),
            ),
            3,
          ),
        ),
      ),
  ],
  [
    'integer vectors and rounding',
    'local.get 1 f32x4.nearest i32x4.trunc_sat_f32x4_s i32.const 127 i32x4.splat i32x4.add i32.const 23 i32x4.shl f32x4.convert_i32x4_s f32x4.neg local.set 4',
    ({ u, t }) =>
      set(
        t,
        f32x4.neg(
          f32x4.convertI32x4S(
            i32x4.shl(
              i32x4.add(i32x4.truncSatF32x4S(f32x4.nearest(get(u))), i32x4.splat(i32.const(127))),
              i32.const(23),
            ),
          ),
        ),
      ),
  ],
  [
    'vector constants',
    'v128.const i32x4 1 -2 3 2147483647 v128.const f32x4 0.5 -1.25 1e30 -87.3365 f32x4.add local.set 4',
    ({ t }) =>
      set(t, f32x4.add(i32x4.const([1, -2, 3, 2147483647]), f32x4.const([0.5, -1.25, 1e30, -87.3365]))),
  ],
  [
    'scalar i32',
    'local.get 0 i32.const -1 i32.add i32.const 624485 i32.mul i32.const 3 i32.shl i32.const 5 i32.shr_u i32.const 7 i32.shr_s i32.const 255 i32.and i32.const 1 i32.or i32.const 2 i32.xor i32.const -123456 i32.sub local.set 5',
    ({ a, n }) =>
      set(
        n,
        i32.sub(
          i32.xor(
            i32.or(
              i32.and(
                i32.shrS(
                  i32.shrU(
                    i32.shl(i32.mul(i32.add(get(a), i32.const(-1)), i32.const(624485)), i32.const(3)),
                    i32.const(5),
                  ),
                  i32.const(7),
                ),
                i32.const(255),
              ),
              i32.const(1),
            ),
            i32.const(2),
          ),
          i32.const(-123456),
        ),
      ),
  ],
  [
    'scalar f32 and conversions',
    'local.get 3 f32.const 0.25 f32.mul f32.nearest f32.const 3 f32.add f32.neg f32.sqrt f32.const 2 f32.div local.get 0 f32.convert_i32_s f32.sub i32.trunc_f32_s local.set 5',
    ({ x, a, n }) =>
      set(
        n,
        i32.truncF32S(
          f32.sub(
            f32.div(
              f32.sqrt(f32.neg(f32.add(f32.nearest(f32.mul(get(x), f32.const(0.25))), f32.const(3)))),
              f32.const(2),
            ),
            f32.convertI32S(get(a)),
          ),
        ),
      ),
  ],
  [
    'comparisons, select, memory',
    'local.get 0 local.get 0 i32.load offset=4 local.get 0 i32.load local.get 0 i32.const 3 i32.le_s local.get 0 i32.eqz i32.and local.get 0 i32.const 9 i32.ge_s i32.or select i32.store offset=12 local.get 0 local.get 3 local.get 0 f32.load offset=8 f32.add f32.store',
    ({ a, x }) => [
      ...i32.store(
        get(a),
        control.select(
          i32.load(get(a), 4),
          i32.load(get(a)),
          i32.or(i32.and(i32.leS(get(a), i32.const(3)), i32.eqz(get(a))), i32.geS(get(a), i32.const(9))),
        ),
        12,
      ),
      ...f32.store(get(a), f32.add(get(x), f32.load(get(a), 8))),
    ],
  ],
  [
    'loops and branches',
    '(block (loop local.get 5 local.get 0 i32.ge_s br_if 1 local.get 5 i32.const 1 i32.add local.set 5 br 0)) local.get 0 (if (then local.get 0 local.set 5) (else i32.const 0 local.set 5))',
    ({ a, n }) => [
      ...forRange(n, get(n), get(a), 1).slice(4), // the loop alone: forRange also initialises n
      ...control.ifElse(get(a), [set(n, get(a))], [set(n, i32.const(0))]),
    ],
  ],
];

describe('WebAssembly writer', () => {
  it.each(cases)('%s: byte-identical to wabt', (_, wat, build) => {
    expect(encode(build)).toEqual(assemble(wat));
  });

  it('encodes LEB128 as the specification examples', () => {
    expect(unsignedLeb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(unsignedLeb(0)).toEqual([0]);
    expect(unsignedLeb(2 ** 32 - 1)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(signedLeb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(signedLeb(63)).toEqual([0x3f]);
    expect(signedLeb(64)).toEqual([0xc0, 0x00]);
    expect(signedLeb(-64)).toEqual([0x40]);
    expect(signedLeb(-65)).toEqual([0xbf, 0x7f]);
  });

  it('writes modules that compile, for every label count shape and feature dimension used', () => {
    for (const labels of [2, 3, 4, 5, 8, 21, 64]) {
      const groups = Math.ceil(labels / 4);
      const functions = kernelFunctions({ labels, groups, dims: [2, 5], widths: [groups, 1] });
      const bytes = encodeModule(functions, { minimumPages: 0, shared: false });
      expect(WebAssembly.validate(bytes)).toBe(true);
      const shared = encodeModule(functions, { minimumPages: 0, maximumPages: 65536, shared: true });
      expect(WebAssembly.validate(shared)).toBe(true);
    }
    for (const d of [1, 2, 3, 5, 8]) {
      const bytes = encodeModule([locateKernel(d), rehashKernel(d), neighboursKernel(d)], {
        minimumPages: 0,
        shared: false,
      });
      expect(WebAssembly.validate(bytes)).toBe(true);
    }
  });
});
