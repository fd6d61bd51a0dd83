import { SeededRandom, mixWords, randomInt, seedWord } from './random.js';
import type { DataPosition, ShardSpec } from './types.js';

function checkShard(shard: ShardSpec): void {
  if (!Number.isInteger(shard.count) || shard.count < 1) {
    throw new RangeError(`shard.count must be a positive integer, got ${shard.count}`);
  }
  if (!Number.isInteger(shard.index) || shard.index < 0 || shard.index >= shard.count) {
    throw new RangeError(`shard.index must be an integer in 0..${shard.count - 1}, got ${shard.index}`);
  }
}

/**
 * The items of shard `index` of `count`: positions `index, index + count, ...`. The shards
 * partition the list (every item in exactly one shard, order kept) and their sizes differ by at
 * most one, so evaluation or prediction can be spread over processes or machines.
 */
export function shardItems<T>(items: readonly T[], shard: ShardSpec): T[] {
  checkShard(shard);
  const out: T[] = [];
  for (let i = shard.index; i < items.length; i += shard.count) out.push(items[i]);
  return out;
}

/** The visiting order of `length` items in `epoch`: a seeded Fisher-Yates permutation, or 0..n-1. */
export function epochOrder(
  length: number,
  epoch: number,
  options: { seed: number | string; shuffle: boolean },
): Uint32Array {
  const order = new Uint32Array(length);
  for (let i = 0; i < length; i++) order[i] = i;
  if (!options.shuffle) return order;
  const random = new SeededRandom(mixWords(seedWord(options.seed), 0x5eed0dd, epoch >>> 0));
  for (let i = length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1);
    const tmp = order[i];
    order[i] = order[j];
    order[j] = tmp;
  }
  return order;
}

/** One sample slot of a planned batch. */
export interface PlannedSample {
  /** Index into the (sharded) item list. */
  item: number;
  epoch: number;
  /** Position within the epoch: with the seed, it fixes the sample's augmentation. */
  index: number;
}

/**
 * Walks epochs in batches and knows where it stands: `position` is saved in a checkpoint and passed
 * back to resume with the very same batches and augmentations.
 */
export class EpochPlan {
  readonly length: number;
  readonly batchSize: number;
  private readonly seed: number | string;
  private readonly shuffle: boolean;
  private readonly dropLast: boolean;
  private readonly epochs: number;
  private epoch: number;
  private index: number;
  private order: Uint32Array;

  constructor(options: {
    length: number;
    batchSize: number;
    seed: number | string;
    shuffle: boolean;
    dropLast: boolean;
    /** Stop after this many epochs (counting from epoch 0); Infinity for endless training. */
    epochs: number;
    start?: DataPosition;
  }) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new RangeError(`batchSize must be a positive integer, got ${options.batchSize}`);
    }
    this.length = options.length;
    this.batchSize = options.batchSize;
    this.seed = options.seed;
    this.shuffle = options.shuffle;
    this.dropLast = options.dropLast;
    this.epochs = options.epochs;
    const start = options.start ?? { epoch: 0, index: 0 };
    if (
      !Number.isInteger(start.epoch) ||
      start.epoch < 0 ||
      !Number.isInteger(start.index) ||
      start.index < 0
    ) {
      throw new RangeError(`start position must hold non-negative integers, got ${JSON.stringify(start)}`);
    }
    if (start.index > this.length) {
      throw new RangeError(`start index ${start.index} is past the ${this.length} items of an epoch`);
    }
    this.epoch = start.epoch;
    this.index = start.index;
    this.order = epochOrder(this.length, this.epoch, { seed: this.seed, shuffle: this.shuffle });
  }

  /** Where the next batch starts. */
  get position(): DataPosition {
    return { epoch: this.epoch, index: this.index };
  }

  /** The next batch's samples, or undefined when the last epoch is done. Advances the position. */
  nextBatch(): PlannedSample[] | undefined {
    for (;;) {
      if (this.epoch >= this.epochs) return undefined;
      const remaining = this.length - this.index;
      const take = Math.min(this.batchSize, remaining);
      if (take > 0 && (take === this.batchSize || !this.dropLast)) {
        const batch: PlannedSample[] = [];
        for (let k = 0; k < take; k++) {
          const index = this.index + k;
          batch.push({ item: this.order[index], epoch: this.epoch, index });
        }
        this.index += take;
        return batch;
      }
      if (this.length === 0 || (this.dropLast && this.length < this.batchSize)) {
        throw new RangeError(`no full batch of ${this.batchSize} can be made from ${this.length} items`);
      }
      this.epoch += 1;
      this.index = 0;
      this.order = epochOrder(this.length, this.epoch, { seed: this.seed, shuffle: this.shuffle });
    }
  }
}
