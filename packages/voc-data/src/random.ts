/**
 * Seeded randomness for data order and augmentation. Transforms take any `RandomSource` (this
 * package's `SeededRandom`, or `@semseg/core`'s `Rng`, which has the same `next()`), so voc-data
 * stays free of tfjs and of core.
 */
export interface RandomSource {
  /** Uniform in [0, 1). */
  next(): number;
}

/** Saved state of a `SeededRandom`: four unsigned 32-bit words of sfc32. */
export interface SeededRandomState {
  algorithm: 'sfc32';
  s: [number, number, number, number];
}

/** Mixes 32-bit words into one well-spread 32-bit word (murmur3's finaliser after each word). */
export function mixWords(...words: number[]): number {
  let h = 0x9e3779b9;
  for (const word of words) {
    h = Math.imul(h ^ (word >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    h = (h + 0x7f4a7c15) >>> 0;
  }
  return h >>> 0;
}

/** A number or string seed as a 32-bit word (FNV-1a for strings). */
export function seedWord(seed: number | string): number {
  if (typeof seed === 'number') return (seed >>> 0) ^ Math.floor(Math.abs(seed) / 2 ** 32);
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** sfc32 (Chris Doty-Humphrey's small fast counting generator): 128-bit state, saveable. */
export class SeededRandom implements RandomSource {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number | string = 0) {
    const word = seedWord(seed);
    this.a = mixWords(word, 1);
    this.b = mixWords(word, 2);
    this.c = mixWords(word, 3);
    this.d = 1; // sfc32's counter starts at 1
    for (let i = 0; i < 12; i++) this.nextUint32(); // discard the warm-up outputs
  }

  /** The generator for one sample of one epoch: independent of which thread draws it, or when. */
  static forSample(seed: number | string, epoch: number, index: number): SeededRandom {
    return new SeededRandom(mixWords(seedWord(seed), epoch >>> 0, Math.floor(epoch / 2 ** 32), index >>> 0));
  }

  static fromState(state: SeededRandomState): SeededRandom {
    const random = new SeededRandom(0);
    random.setState(state);
    return random;
  }

  getState(): SeededRandomState {
    return { algorithm: 'sfc32', s: [this.a, this.b, this.c, this.d] };
  }

  setState(state: SeededRandomState): void {
    if (state.algorithm !== 'sfc32' || !Array.isArray(state.s) || state.s.length !== 4) {
      throw new TypeError('SeededRandom.setState: not an sfc32 state');
    }
    for (const word of state.s) {
      if (!Number.isInteger(word) || word < 0 || word > 0xffffffff) {
        throw new TypeError('SeededRandom.setState: state words must be unsigned 32-bit integers');
      }
    }
    [this.a, this.b, this.c, this.d] = state.s;
  }

  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    this.a >>>= 0;
    return t;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }
}

/** Uniform in [low, high). */
export function uniform(random: RandomSource, low: number, high: number): number {
  return low + (high - low) * random.next();
}

/** Uniform integer in [0, n). */
export function randomInt(random: RandomSource, n: number): number {
  return Math.min(n - 1, Math.floor(random.next() * n));
}
