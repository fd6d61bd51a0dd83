import { IGNORE_INDEX } from './classes.js';

/**
 * Instance ids from VOC's SegmentationObject map: ids 1..N as they are, 0 (background) and 255
 * (the void border around objects) as 0, no instance.
 */
export function instancesFromObjectMap(objectLabel: Uint8Array): Uint16Array {
  const out = new Uint16Array(objectLabel.length);
  for (let p = 0; p < objectLabel.length; p++) {
    const id = objectLabel[p]!;
    out[p] = id === IGNORE_INDEX ? 0 : id;
  }
  return out;
}

/**
 * Instance ids for a label map without an instance map (SBD, most custom data): each 8-connected
 * component of a class other than `background` (and not ignored) is one instance, numbered 1..N
 * in order of its first pixel. Touching objects of one class become one instance.
 */
export function componentInstances(
  label: Uint8Array,
  width: number,
  height: number,
  background = 0,
): Uint16Array {
  if (label.length !== width * height) {
    throw new RangeError(`label holds ${label.length} pixels, ${width}x${height} expected`);
  }
  const out = new Uint16Array(label.length);
  const stack: number[] = [];
  let next = 0;
  for (let start = 0; start < label.length; start++) {
    const classIndex = label[start]!;
    if (out[start] !== 0 || classIndex === background || classIndex === IGNORE_INDEX) continue;
    if (next === 0xffff) throw new RangeError(`label has more than ${0xffff - 1} connected objects`);
    const id = ++next;
    out[start] = id;
    stack.push(start);
    while (stack.length > 0) {
      const p = stack.pop()!;
      const x = p % width;
      const y = (p - x) / width;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
          const q = ny * width + nx;
          if (out[q] === 0 && label[q] === classIndex) {
            out[q] = id;
            stack.push(q);
          }
        }
      }
    }
  }
  return out;
}
