// WebAssembly instructions in folded form: each takes its operands' code and returns the code that
// computes them and then itself, so kernels read like expressions. Opcodes are from the core and
// SIMD specifications (checked against wabt's assembler in test/wasm-encoder.test.ts).
import { type Code, type Local, signedLeb, unsignedLeb } from './encoder.js';

const cat = (...parts: Code[]): number[] => parts.flat();
const simd = (opcode: number) => [0xfd, ...unsignedLeb(opcode)];
/** memarg: alignment exponent, then a constant byte offset added to the address. */
const memarg = (align: number, offset: number) => [align, ...unsignedLeb(offset)];

export const memory = {
  /** Sets `length` bytes from `address` to `value` (bulk memory; a memset, also on shared memory). */
  fill: (address: Code, value: Code, length: Code): Code => cat(address, value, length, [0xfc, 0x0b, 0x00]),
  /** Copies `length` bytes from `source` to `target` (bulk memory; a memmove, overlap allowed). */
  copy: (target: Code, source: Code, length: Code): Code =>
    cat(target, source, length, [0xfc, 0x0a, 0x00, 0x00]),
};

export const local = {
  get: (l: Local): Code => [0x20, ...unsignedLeb(l.index)],
  set: (l: Local, value: Code): Code => cat(value, [0x21, ...unsignedLeb(l.index)]),
  tee: (l: Local, value: Code): Code => cat(value, [0x22, ...unsignedLeb(l.index)]),
};

const binary =
  (opcode: number) =>
  (a: Code, b: Code): Code =>
    cat(a, b, [opcode]);
const unary =
  (opcode: number) =>
  (a: Code): Code =>
    cat(a, [opcode]);

export const i32 = {
  const: (value: number): Code => [0x41, ...signedLeb(value)],
  load: (address: Code, offset = 0): Code => cat(address, [0x28, ...memarg(2, offset)]),
  store: (address: Code, value: Code, offset = 0): Code => cat(address, value, [0x36, ...memarg(2, offset)]),
  eqz: unary(0x45),
  eq: binary(0x46),
  ne: binary(0x47),
  ltS: binary(0x48),
  ltU: binary(0x49),
  gtS: binary(0x4a),
  leS: binary(0x4c),
  geS: binary(0x4e),
  add: binary(0x6a),
  sub: binary(0x6b),
  mul: binary(0x6c),
  and: binary(0x71),
  or: binary(0x72),
  xor: binary(0x73),
  shl: binary(0x74),
  shrS: binary(0x75),
  shrU: binary(0x76),
  truncF32S: unary(0xa8),
  gtU: binary(0x4b),
};

export const f32 = {
  const: (value: number): Code => {
    const bytes = new Uint8Array(new Float32Array([value]).buffer);
    return [0x43, ...bytes];
  },
  load: (address: Code, offset = 0): Code => cat(address, [0x2a, ...memarg(2, offset)]),
  store: (address: Code, value: Code, offset = 0): Code => cat(address, value, [0x38, ...memarg(2, offset)]),
  eq: binary(0x5b),
  lt: binary(0x5d),
  gt: binary(0x5e),
  ge: binary(0x60),
  neg: unary(0x8c),
  nearest: unary(0x90),
  sqrt: unary(0x91),
  add: binary(0x92),
  sub: binary(0x93),
  mul: binary(0x94),
  div: binary(0x95),
  convertI32S: unary(0xb2),
};

const simdBinary =
  (opcode: number) =>
  (a: Code, b: Code): Code =>
    cat(a, b, simd(opcode));
const simdUnary =
  (opcode: number) =>
  (a: Code): Code =>
    cat(a, simd(opcode));

export const v128 = {
  load: (address: Code, offset = 0): Code => cat(address, simd(0x00), memarg(4, offset)),
  /** One f32 (or i32) from memory in all four lanes: a single broadcast instruction. */
  load32Splat: (address: Code, offset = 0): Code => cat(address, simd(0x09), memarg(2, offset)),
  store: (address: Code, value: Code, offset = 0): Code => cat(address, value, simd(0x0b), memarg(4, offset)),
  /** 16 bytes, little-endian lanes. */
  const: (bytes: Uint8Array): Code => cat(simd(0x0c), Array.from(bytes)),
  and: simdBinary(0x4e),
  /** Bits of a where mask is 1, of b where it is 0. */
  bitselect: (a: Code, b: Code, mask: Code): Code => cat(a, b, mask, simd(0x52)),
  /** Lane bytes 0-15 from a, 16-31 from b. */
  shuffle: (a: Code, b: Code, lanes: readonly number[]): Code => cat(a, b, simd(0x0d), lanes),
};

export const f32x4 = {
  splat: simdUnary(0x13),
  const: (values: readonly [number, number, number, number]): Code =>
    v128.const(new Uint8Array(new Float32Array(values).buffer)),
  extractLane: (a: Code, lane: number): Code => cat(a, simd(0x1f), [lane]),
  lt: simdBinary(0x43),
  gt: simdBinary(0x44),
  nearest: simdUnary(0x6a),
  neg: simdUnary(0xe1),
  sqrt: simdUnary(0xe3),
  add: simdBinary(0xe4),
  sub: simdBinary(0xe5),
  mul: simdBinary(0xe6),
  div: simdBinary(0xe7),
  min: simdBinary(0xe8),
  max: simdBinary(0xe9),
  /** Pseudo-minimum b < a ? b : a: one instruction on x64/ARM (min handles NaN and -0 in several). */
  pmin: simdBinary(0xea),
  /** Pseudo-maximum a < b ? b : a. */
  pmax: simdBinary(0xeb),
  convertI32x4S: simdUnary(0xfa),
};

export const i32x4 = {
  splat: simdUnary(0x11),
  const: (values: readonly [number, number, number, number]): Code =>
    v128.const(new Uint8Array(new Int32Array(values).buffer)),
  extractLane: (a: Code, lane: number): Code => cat(a, simd(0x1b), [lane]),
  shl: simdBinary(0xab),
  add: simdBinary(0xae),
  truncSatF32x4S: simdUnary(0xf8),
};

const blockType = 0x40; // no result

export const control = {
  block: (...body: Code[]): Code => cat([0x02, blockType], ...body, [0x0b]),
  loop: (...body: Code[]): Code => cat([0x03, blockType], ...body, [0x0b]),
  if: (condition: Code, ...body: Code[]): Code => cat(condition, [0x04, blockType], ...body, [0x0b]),
  ifElse: (condition: Code, then: Code[], otherwise: Code[]): Code =>
    cat(condition, [0x04, blockType], ...then, [0x05], ...otherwise, [0x0b]),
  /** Branch to the enclosing block `depth` levels out (0 = innermost). */
  br: (depth: number): Code => [0x0c, ...unsignedLeb(depth)],
  brIf: (depth: number, condition: Code): Code => cat(condition, [0x0d, ...unsignedLeb(depth)]),
  return: (value: Code = []): Code => cat(value, [0x0f]),
  select: (a: Code, b: Code, condition: Code): Code => cat(a, b, condition, [0x1b]),
  drop: (value: Code): Code => cat(value, [0x1a]),
};

/**
 * `for (i = start; i < end; i += step) body`, as block { loop { br_if i >= end; body; i += step; br } }
 * (the body must not branch out itself).
 */
export function forRange(i: Local, start: Code, end: Code, step: number, ...body: Code[]): Code {
  return cat(
    local.set(i, start),
    control.block(
      control.loop(
        control.brIf(1, i32.geS(local.get(i), end)),
        ...body,
        local.set(i, i32.add(local.get(i), i32.const(step))),
        control.br(0),
      ),
    ),
  );
}
