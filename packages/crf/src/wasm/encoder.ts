// A minimal WebAssembly binary writer: just what the CRF kernels need (one imported memory,
// functions with i32/f32/v128 locals, exports). The kernels are generated per label count and
// feature dimension at run time, so the package ships TypeScript only: no binary, no toolchain.

/** Bytes of WebAssembly code (one or more instructions). */
export type Code = readonly number[];

export const valueType = { i32: 0x7f, f32: 0x7d, v128: 0x7b } as const;
export type ValueType = keyof typeof valueType;

export function unsignedLeb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

export function signedLeb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function utf8(name: string): number[] {
  const bytes = Array.from(new TextEncoder().encode(name));
  return [...unsignedLeb(bytes.length), ...bytes];
}

function vector(items: readonly number[][]): number[] {
  return [...unsignedLeb(items.length), ...items.flat()];
}

function section(id: number, body: number[]): number[] {
  return [id, ...unsignedLeb(body.length), ...body];
}

/** A local variable (parameters come first, as in WebAssembly). */
export interface Local {
  readonly index: number;
  readonly type: ValueType;
}

/** One function: declare its parameters and locals, then give its body. */
export class FunctionBuilder {
  readonly name: string;
  private readonly params: ValueType[] = [];
  private readonly locals: ValueType[] = [];
  private readonly results: ValueType[] = [];
  private sealed = false;
  body: Code = [];

  constructor(name: string) {
    this.name = name;
  }

  param(type: ValueType): Local {
    if (this.sealed) throw new Error(`wasm: parameter after locals in ${this.name}`);
    this.params.push(type);
    return { index: this.params.length - 1, type };
  }

  /** Declares the function's result (at most one here). */
  result(type: ValueType): void {
    this.results.push(type);
  }

  local(type: ValueType): Local {
    this.sealed = true;
    this.locals.push(type);
    return { index: this.params.length + this.locals.length - 1, type };
  }

  signature(): number[] {
    const types = (list: ValueType[]) => vector(list.map((t) => [valueType[t]]));
    return [0x60, ...types(this.params), ...types(this.results)];
  }

  encodeBody(): number[] {
    // Runs of equal types become one (count, type) entry.
    const groups: number[][] = [];
    let i = 0;
    while (i < this.locals.length) {
      let j = i;
      while (j < this.locals.length && this.locals[j] === this.locals[i]) j++;
      groups.push([...unsignedLeb(j - i), valueType[this.locals[i]]]);
      i = j;
    }
    const bytes = [...vector(groups), ...this.body, 0x0b];
    return [...unsignedLeb(bytes.length), ...bytes];
  }
}

export interface MemoryImport {
  /** Initial size in 64 KiB pages. */
  minimumPages: number;
  /** Required for shared memory (threads); absent, any memory size is accepted. */
  maximumPages?: number;
  shared: boolean;
}

/** A module importing `env.memory` and exporting every function under its name. */
export function encodeModule(
  functions: readonly FunctionBuilder[],
  memory: MemoryImport,
): Uint8Array<ArrayBuffer> {
  const signatures: string[] = [];
  const typeOf = functions.map((f) => {
    const key = f.signature().join(',');
    let index = signatures.indexOf(key);
    if (index < 0) index = signatures.push(key) - 1;
    return index;
  });
  const { minimumPages, maximumPages, shared } = memory;
  if (shared && maximumPages === undefined) throw new Error('wasm: shared memory needs a maximum');
  const limits =
    maximumPages === undefined
      ? [0x00, ...unsignedLeb(minimumPages)]
      : [shared ? 0x03 : 0x01, ...unsignedLeb(minimumPages), ...unsignedLeb(maximumPages)];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector(signatures.map((s) => s.split(',').map(Number)))),
    ...section(2, vector([[...utf8('env'), ...utf8('memory'), 0x02, ...limits]])),
    ...section(3, vector(typeOf.map((t) => unsignedLeb(t)))),
    ...section(7, vector(functions.map((f, i) => [...utf8(f.name), 0x00, ...unsignedLeb(i)]))),
    ...section(10, vector(functions.map((f) => f.encodeBody()))),
  ];
  return new Uint8Array(bytes);
}
