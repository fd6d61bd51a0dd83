// A safe unpickler: it knows the opcodes torch.save writes (protocol 2, and 3-5 for newer
// writers) and a short list of globals, each turned into data (a dict, a tensor record, a storage
// reference). A file naming any other global (os.system, builtins.eval, ...) is refused before
// anything is built from it; nothing in a file is ever called.
import { WeightsError } from '../errors.js';

/** A reference to one storage of a zip checkpoint (`archive/data/<key>`). */
export interface TorchStorage {
  kind: 'storage';
  dtype: string;
  key: string;
  numel: number;
}

/** What `torch._utils._rebuild_tensor_v2` would build: a strided view of a storage. */
export interface TorchTensor {
  kind: 'tensor';
  storage: TorchStorage;
  offset: number;
  shape: number[];
  stride: number[];
}

/** An instance of an allowed plain-data class (argparse.Namespace): its class and state. */
export interface PickledObject {
  kind: 'object';
  className: string;
  state: unknown;
}

class Global {
  constructor(readonly name: string) {}
}

const MARK = Symbol('mark');

/** torch's typed storages and their element types (safetensors spelling). */
export const STORAGE_DTYPES: Readonly<Record<string, string>> = {
  'torch.FloatStorage': 'F32',
  'torch.DoubleStorage': 'F64',
  'torch.HalfStorage': 'F16',
  'torch.BFloat16Storage': 'BF16',
  'torch.LongStorage': 'I64',
  'torch.IntStorage': 'I32',
  'torch.ShortStorage': 'I16',
  'torch.CharStorage': 'I8',
  'torch.ByteStorage': 'U8',
  'torch.BoolStorage': 'BOOL',
};

/** Globals a checkpoint may name, each read as data. */
const ALLOWED = new Set([
  ...Object.keys(STORAGE_DTYPES),
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  // torchvision's reference scripts save their command line and numpy scalars next to the model.
  'argparse.Namespace',
  '_codecs.encode',
  'numpy.core.multiarray.scalar',
  'numpy.dtype',
  'torch.device',
]);

function refuse(file: string, problem: string): never {
  throw new WeightsError(file, problem);
}

/** Reads a pickle into plain values: Map for dicts, arrays for lists and tuples. */
export function unpickle(bytes: Uint8Array, file: string): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let at = 0;
  const need = (n: number): void => {
    if (at + n > bytes.byteLength) refuse(file, 'truncated pickle (data.pkl ends inside an opcode)');
  };
  const take = (n: number): Uint8Array => {
    need(n);
    const out = bytes.subarray(at, at + n);
    at += n;
    return out;
  };
  const utf8 = (n: number): string => new TextDecoder().decode(take(n));
  const latin1 = (n: number): string => new TextDecoder('latin1').decode(take(n));
  const line = (): string => {
    const end = bytes.indexOf(0x0a, at);
    if (end < 0) refuse(file, 'truncated pickle (unterminated line)');
    const text = new TextDecoder('latin1').decode(bytes.subarray(at, end));
    at = end + 1;
    return text;
  };
  const pop = (): unknown => {
    if (stack.length === 0) refuse(file, 'damaged pickle (stack underflow)');
    return stack.pop();
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) refuse(file, 'damaged pickle (no mark)');
    return stack.splice(m);
  };
  const top = (): unknown => stack[stack.length - 1];
  const global = (name: string): Global => {
    if (!ALLOWED.has(name)) {
      refuse(
        file,
        `the pickle asks for '${name}', which a weights file never needs: refused (no code runs from a file; save a state_dict)`,
      );
    }
    return new Global(name);
  };
  const setItems = (target: unknown, items: unknown[]): void => {
    if (!(target instanceof Map)) refuse(file, 'damaged pickle (SETITEMS on a non-dict)');
    for (let i = 0; i + 1 < items.length; i += 2) target.set(items[i], items[i + 1]);
  };
  const call = (fn: unknown, args: unknown): unknown => {
    if (!(fn instanceof Global) || !Array.isArray(args))
      refuse(file, 'damaged pickle (REDUCE without a global)');
    switch (fn.name) {
      case 'collections.OrderedDict':
        return new Map(Array.isArray(args[0]) ? (args[0] as Array<[unknown, unknown]>) : []);
      case 'torch._utils._rebuild_tensor_v2': {
        const [storage, offset, shape, stride] = args as [TorchStorage, number, number[], number[]];
        if ((storage as Partial<TorchStorage>)?.kind !== 'storage')
          refuse(file, 'damaged pickle (tensor without a storage)');
        return {
          kind: 'tensor',
          storage,
          offset,
          shape: [...shape],
          stride: [...stride],
        } satisfies TorchTensor;
      }
      case 'torch._utils._rebuild_parameter':
      case 'torch._utils._rebuild_parameter_with_state':
        return args[0];
      case '_codecs.encode':
        return new TextEncoder().encode(String(args[0]));
      case 'torch.device':
        return `device(${args.join(', ')})`;
      default:
        return { kind: 'object', className: fn.name, state: args } satisfies PickledObject;
    }
  };

  for (;;) {
    need(1);
    const op = bytes[at++]!;
    switch (op) {
      case 0x80: // PROTO
        take(1);
        break;
      case 0x95: // FRAME
        take(8);
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x8f: // EMPTY_SET
        stack.push(new Set());
        break;
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x64: {
        // DICT
        const items = popMark();
        const dict = new Map();
        setItems(dict, items);
        stack.push(dict);
        break;
      }
      case 0x71: // BINPUT
        memo.set(take(1)[0]!, top());
        break;
      case 0x72: // LONG_BINPUT
        need(4);
        memo.set(view.getUint32(at, true), top());
        at += 4;
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(memo.get(take(1)[0]!));
        break;
      case 0x6a: // LONG_BINGET
        need(4);
        stack.push(memo.get(view.getUint32(at, true)));
        at += 4;
        break;
      case 0x63: {
        // GLOBAL
        const module = line();
        stack.push(global(`${module}.${line()}`));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        stack.push(global(`${String(pop())}.${String(name)}`));
        break;
      }
      case 0x51: {
        // BINPERSID: ('storage', storage_type, key, location, numel)
        const pid = pop();
        if (!Array.isArray(pid) || pid[0] !== 'storage' || !(pid[1] instanceof Global)) {
          refuse(file, 'the pickle holds a persistent object that is not a tensor storage');
        }
        const dtype = STORAGE_DTYPES[pid[1].name];
        if (!dtype) refuse(file, `unsupported storage type ${pid[1].name}`);
        stack.push({
          kind: 'storage',
          dtype,
          key: String(pid[2]),
          numel: Number(pid[4]),
        } satisfies TorchStorage);
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x62: {
        // BUILD: state of an OrderedDict (its _metadata) or of a plain-data object.
        const state = pop();
        const target = top() as Partial<PickledObject> | undefined;
        if (target && typeof target === 'object' && target.kind === 'object') target.state = state;
        break;
      }
      case 0x73: {
        // SETITEM
        const value = pop();
        const key = pop();
        setItems(top(), [key, value]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: {
        // APPEND
        const value = pop();
        (top() as unknown[]).push(value);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) refuse(file, 'damaged pickle (APPENDS on a non-list)');
        list.push(...items);
        break;
      }
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        for (const item of items) (top() as Set<unknown>).add(item);
        break;
      }
      case 0x91: // FROZENSET
        stack.push(new Set(popMark()));
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4a: // BININT
        need(4);
        stack.push(view.getInt32(at, true));
        at += 4;
        break;
      case 0x4b: // BININT1
        stack.push(take(1)[0]);
        break;
      case 0x4d: // BININT2
        need(2);
        stack.push(view.getUint16(at, true));
        at += 2;
        break;
      case 0x8a: // LONG1
      case 0x8b: {
        // LONG4
        let n: number;
        if (op === 0x8a) n = take(1)[0]!;
        else {
          need(4);
          n = view.getUint32(at, true);
          at += 4;
        }
        const digits = take(n);
        let value = 0n;
        for (let i = n - 1; i >= 0; i--) value = (value << 8n) | BigInt(digits[i]!);
        if (n > 0 && digits[n - 1]! & 0x80) value -= 1n << BigInt(8 * n);
        stack.push(Number(value));
        break;
      }
      case 0x49: {
        // INT (text): also True/False as I01 / I00
        const text = line();
        stack.push(text === '01' ? true : text === '00' ? false : Number.parseInt(text, 10));
        break;
      }
      case 0x4c: // LONG (text)
        stack.push(Number.parseInt(line().replace(/L$/, ''), 10));
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x47: // BINFLOAT
        need(8);
        stack.push(view.getFloat64(at, false));
        at += 8;
        break;
      case 0x58: // BINUNICODE
        need(4);
        at += 4;
        stack.push(utf8(view.getUint32(at - 4, true)));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8(take(1)[0]!));
        break;
      case 0x8d: // BINUNICODE8
        need(8);
        at += 8;
        stack.push(utf8(Number(view.getBigUint64(at - 8, true))));
        break;
      case 0x54: // BINSTRING
        need(4);
        at += 4;
        stack.push(latin1(view.getInt32(at - 4, true)));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1(take(1)[0]!));
        break;
      case 0x42: // BINBYTES
        need(4);
        at += 4;
        stack.push(take(view.getUint32(at - 4, true)).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(take(1)[0]!).slice());
        break;
      case 0x8e: // BINBYTES8
        need(8);
        at += 8;
        stack.push(take(Number(view.getBigUint64(at - 8, true))).slice());
        break;
      default:
        refuse(
          file,
          `the pickle uses opcode 0x${op.toString(16)} at byte ${at - 1}, which no state_dict needs: refused`,
        );
    }
  }
}

/** One entry of the pickle a state-dict writer emits. */
export interface PickleTensor {
  key: string;
  dtype: 'F32' | 'I64';
  shape: readonly number[];
  /** The storage's key in the archive (`archive/data/<storageKey>`). */
  storageKey: string;
}

/** Writes `OrderedDict([(key, tensor), ...])` the way torch.save does (protocol 2). */
export function pickleStateDict(tensors: readonly PickleTensor[]): Uint8Array {
  const out: number[] = [];
  const byte = (...b: number[]): void => {
    out.push(...b);
  };
  const text = (s: string): void => {
    const utf = new TextEncoder().encode(s);
    byte(0x58, utf.length & 0xff, (utf.length >> 8) & 0xff, (utf.length >> 16) & 0xff, utf.length >>> 24);
    for (const b of utf) out.push(b);
  };
  const global = (module: string, name: string): void => {
    byte(0x63);
    for (const c of `${module}\n${name}\n`) out.push(c.charCodeAt(0));
  };
  const int = (n: number): void => {
    if (n >= 0 && n < 256) byte(0x4b, n);
    else if (n >= 0 && n < 2 ** 31) byte(0x4a, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24);
    else {
      // LONG1 with 8 little-endian bytes
      const v = BigInt.asUintN(64, BigInt(n));
      byte(0x8a, 8);
      for (let i = 0n; i < 8n; i++) out.push(Number((v >> (8n * i)) & 0xffn));
    }
  };
  const tuple = (items: readonly number[]): void => {
    if (items.length === 0) {
      byte(0x29);
      return;
    }
    byte(0x28);
    for (const i of items) int(i);
    byte(0x74);
  };
  const emptyOrderedDict = (): void => {
    global('collections', 'OrderedDict');
    byte(0x29, 0x52);
  };
  byte(0x80, 2);
  emptyOrderedDict();
  byte(0x28); // MARK for SETITEMS
  for (const t of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    const stride = t.shape.map((_, i) => t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
    text(t.key);
    global('torch._utils', '_rebuild_tensor_v2');
    byte(0x28); // MARK for the argument tuple
    byte(0x28); // the persistent id tuple
    text('storage');
    global('torch', t.dtype === 'I64' ? 'LongStorage' : 'FloatStorage');
    text(t.storageKey);
    text('cpu');
    int(count);
    byte(0x74, 0x51); // TUPLE, BINPERSID
    int(0);
    tuple(t.shape);
    tuple(stride);
    byte(0x89); // requires_grad False
    emptyOrderedDict(); // backward hooks
    byte(0x74, 0x52); // TUPLE, REDUCE
  }
  byte(0x75, 0x2e); // SETITEMS, STOP
  return Uint8Array.from(out);
}
