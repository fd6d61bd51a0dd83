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
 * The 8-connected components of each class other than `background` (and not ignored): a
 * component id per pixel, 1..count in order of each component's first pixel, 0 elsewhere.
 */
function labelComponents(
  label: Uint8Array,
  width: number,
  height: number,
  background: number,
): { ids: Uint32Array; count: number } {
  if (label.length !== width * height) {
    throw new RangeError(`label holds ${label.length} pixels, ${width}x${height} expected`);
  }
  const ids = new Uint32Array(label.length);
  const stack: number[] = [];
  let count = 0;
  for (let start = 0; start < label.length; start++) {
    const classIndex = label[start]!;
    if (ids[start] !== 0 || classIndex === background || classIndex === IGNORE_INDEX) continue;
    const id = ++count;
    ids[start] = id;
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
          if (ids[q] === 0 && label[q] === classIndex) {
            ids[q] = id;
            stack.push(q);
          }
        }
      }
    }
  }
  return { ids, count };
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
  const { ids, count } = labelComponents(label, width, height, background);
  if (count > 0xffff) throw new RangeError(`label has ${count} connected objects, more than ${0xffff}`);
  return Uint16Array.from(ids);
}

/** One 8-connected component of a class: its class, bounding box (exclusive ends) and pixel count. */
export interface LabelComponent {
  classIndex: number;
  box: { x0: number; y0: number; x1: number; y1: number };
  area: number;
}

/**
 * The components of `componentInstances` with their classes, boxes and areas, in order of their
 * first pixel (object-centred crops, proposal boxes).
 */
export function componentBoxes(
  label: Uint8Array,
  width: number,
  height: number,
  background = 0,
): LabelComponent[] {
  const { ids, count } = labelComponents(label, width, height, background);
  const out: LabelComponent[] = Array.from({ length: count }, () => ({
    classIndex: 0,
    box: { x0: width, y0: height, x1: 0, y1: 0 },
    area: 0,
  }));
  for (let p = 0; p < ids.length; p++) {
    const id = ids[p]!;
    if (id === 0) continue;
    const c = out[id - 1]!;
    const x = p % width;
    const y = (p - x) / width;
    if (c.area === 0) c.classIndex = label[p]!;
    c.area++;
    c.box.x0 = Math.min(c.box.x0, x);
    c.box.y0 = Math.min(c.box.y0, y);
    c.box.x1 = Math.max(c.box.x1, x + 1);
    c.box.y1 = Math.max(c.box.y1, y + 1);
  }
  return out;
}
