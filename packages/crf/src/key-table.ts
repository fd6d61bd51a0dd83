// Open-addressing hash table from integer lattice keys (d coordinates) to vertex indices 0, 1, 2, ...
// in order of first insertion, which is the order the reference numbers its lattice vertices.

export class KeyTable {
  private readonly dims: number;
  private keys: Int32Array;
  private slots: Int32Array;
  private mask: number;
  size = 0;

  constructor(dims: number, expectedSize: number) {
    this.dims = dims;
    let capacity = 1024;
    while (capacity < expectedSize * 2) capacity *= 2;
    this.slots = new Int32Array(capacity).fill(-1);
    this.mask = capacity - 1;
    this.keys = new Int32Array((capacity >> 1) * dims);
  }

  private hash(key: Int32Array, start: number): number {
    let h = 0;
    for (let i = 0; i < this.dims; i++) h = Math.imul(h ^ key[start + i], 0x9e3779b1) ^ (h >>> 16);
    return (h ^ (h >>> 15)) & this.mask;
  }

  /** The vertex index of `key`, or -1 (or a new index when `create`). */
  find(key: Int32Array, create: boolean): number {
    const dims = this.dims;
    const keys = this.keys;
    let slot = this.hash(key, 0);
    for (;;) {
      const vertex = this.slots[slot];
      if (vertex < 0) break;
      const base = vertex * dims;
      let same = true;
      for (let i = 0; i < dims; i++) {
        if (keys[base + i] !== key[i]) {
          same = false;
          break;
        }
      }
      if (same) return vertex;
      slot = (slot + 1) & this.mask;
    }
    if (!create) return -1;
    const vertex = this.size++;
    for (let i = 0; i < dims; i++) this.keys[vertex * dims + i] = key[i];
    this.slots[slot] = vertex;
    if (this.size * 2 >= this.slots.length) this.grow();
    return vertex;
  }

  /** The key of vertex `vertex`, copied into `out`. */
  keyOf(vertex: number, out: Int32Array): void {
    const base = vertex * this.dims;
    for (let i = 0; i < this.dims; i++) out[i] = this.keys[base + i];
  }

  private grow(): void {
    const capacity = this.slots.length * 2;
    const keys = new Int32Array((capacity >> 1) * this.dims);
    keys.set(this.keys);
    this.keys = keys;
    this.slots = new Int32Array(capacity).fill(-1);
    this.mask = capacity - 1;
    for (let vertex = 0; vertex < this.size; vertex++) {
      let slot = this.hash(keys, vertex * this.dims);
      while (this.slots[slot] >= 0) slot = (slot + 1) & this.mask;
      this.slots[slot] = vertex;
    }
  }
}
