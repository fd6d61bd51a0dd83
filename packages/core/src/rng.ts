/**
 * Seeded, splittable pseudo-random numbers: xoshiro128** seeded through splitmix32.
 * Everything random in semseg.js (initialisation, data order, augmentation, dropout) draws from an
 * Rng passed in explicitly, so the same seed gives the same run, and the state can be saved in a
 * checkpoint and restored to resume a run exactly.
 */
export interface RngState {
  algorithm: 'xoshiro128**';
  /** Four unsigned 32-bit words. */
  s: [number, number, number, number];
}

function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** FNV-1a over UTF-16 code units: turns a string seed or label into 32 bits. */
function hashString(text: string, basis = 0x811c9dc5): number {
  let h = basis >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * One step of xoshiro128** on its four state words, in place; returns the output word (unsigned).
 * int32 arithmetic throughout (V8 keeps it in registers); only the result is made unsigned.
 */
function xoshiroStep(words: Int32Array): number {
  const s0 = words[0]!;
  const s1 = words[1]!;
  let s2 = words[2]!;
  let s3 = words[3]!;
  const m = Math.imul(s1, 5);
  const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
  const t = s1 << 9;
  s2 ^= s0;
  s3 ^= s1;
  words[1] = s1 ^ s2;
  words[0] = s0 ^ s3;
  words[2] = s2 ^ t;
  words[3] = (s3 << 11) | (s3 >>> 21);
  return result;
}

export class Rng {
  /** The state, as int32 words (getState gives them unsigned). */
  private readonly words = new Int32Array(4);

  /** @param seed an integer (any size, taken modulo 2^32 after mixing) or a string. */
  constructor(seed: number | string = 0) {
    const mixed =
      typeof seed === 'string' ? hashString(seed) : (seed >>> 0) ^ Math.floor(Math.abs(seed) / 2 ** 32);
    const next = splitmix32(mixed);
    for (let i = 0; i < 4; i++) this.words[i] = next();
    if ((this.words[0]! | this.words[1]! | this.words[2]! | this.words[3]!) === 0) this.words[0] = 1;
  }

  static fromState(state: RngState): Rng {
    const rng = new Rng(0);
    rng.setState(state);
    return rng;
  }

  getState(): RngState {
    const [a, b, c, d] = Array.from(this.words, (w) => w >>> 0) as [number, number, number, number];
    return { algorithm: 'xoshiro128**', s: [a, b, c, d] };
  }

  setState(state: RngState): void {
    if (state.algorithm !== 'xoshiro128**' || !Array.isArray(state.s) || state.s.length !== 4) {
      throw new TypeError('Rng.setState: not an xoshiro128** state');
    }
    const [a, b, c, d] = state.s.map((w) => {
      if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) {
        throw new TypeError('Rng.setState: state words must be unsigned 32-bit integers');
      }
      return w;
    });
    if ((a | b | c | d) === 0) throw new TypeError('Rng.setState: the all-zero state is invalid');
    this.words.set([a!, b!, c!, d!]);
  }

  /** Next unsigned 32-bit integer. */
  nextUint32(): number {
    return xoshiroStep(this.words);
  }

  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in [low, high). */
  uniform(low = 0, high = 1): number {
    return low + (high - low) * this.next();
  }

  /** Uniform integer in [0, n), without modulo bias. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 0x100000000) {
      throw new RangeError(`Rng.int: n must be an integer in 1..2^32, got ${n}`);
    }
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Standard normal (Box–Muller; one of the pair is discarded so the state stays 4 words). */
  normal(mean = 0, std = 1): number {
    let u = this.next();
    while (u === 0) u = this.next();
    const v = this.next();
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.next() < p;
  }

  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }

  /**
   * Fills a Float32Array with N(mean, std^2) samples: Box–Muller on 32-bit uniforms, using both
   * values of each pair (float32 output needs no more bits), about 10x faster than `normal()` in a
   * loop, which matters for initialising 100M-parameter networks. The state lives in an
   * Int32Array, which V8 keeps the generator's steps in registers over (1.8x faster than fields).
   */
  fillNormal(out: Float32Array, mean = 0, std = 1): Float32Array {
    const twoPi = 2 * Math.PI;
    const scale = 1 / 4294967296;
    const n = out.length;
    const words = this.words;
    for (let i = 0; i < n; i += 2) {
      const u = (xoshiroStep(words) + 0.5) * scale;
      const v = (xoshiroStep(words) + 0.5) * scale;
      const r = std * Math.sqrt(-2 * Math.log(u));
      out[i] = mean + r * Math.cos(twoPi * v);
      if (i + 1 < n) out[i + 1] = mean + r * Math.sin(twoPi * v);
    }
    return out;
  }

  /**
   * Fills a Float32Array with U[low, high) samples from 24 random bits each: exactly what a
   * float32 in [0, 1) can hold, so no sample rounds up to 1.
   */
  fillUniform(out: Float32Array, low = 0, high = 1): Float32Array {
    const range = high - low;
    const words = this.words;
    for (let i = 0; i < out.length; i++) out[i] = low + range * ((xoshiroStep(words) >>> 8) / 16777216);
    return out;
  }

  /** A new independent generator; advances this one. */
  split(): Rng {
    const child = new Rng(0);
    const next = splitmix32(this.nextUint32() ^ rotl(this.nextUint32(), 16));
    child.setState({ algorithm: 'xoshiro128**', s: [next(), next(), next(), next() || 1] });
    return child;
  }

  /**
   * A generator derived from this one's current state and a label, without advancing this one:
   * `rng.derive('init')` and `rng.derive('data')` are independent streams that do not shift when
   * another consumer draws from `rng`.
   */
  derive(label: string): Rng {
    let h = hashString(label);
    for (const w of this.words) h = hashString((w >>> 0).toString(16), h);
    return new Rng(h);
  }
}
