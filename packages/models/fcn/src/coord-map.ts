/**
 * Where a feature map's pixels sit in input coordinates: index i of the map is centred on input
 * coordinate `scale * i + offset`, as Caffe's coord_map computes it. FCN aligns its fused maps by
 * cropping with the offsets this gives (the reference's 5, 9, 19, 27 and 31).
 */
export interface CoordMap {
  scale: number;
  offset: number;
}

export const INPUT_MAP: CoordMap = { scale: 1, offset: 0 };

/** After a conv or pooling layer (kernel k, stride s, padding p, dilation d). */
export function throughConv(
  map: CoordMap,
  kernel: number,
  stride: number,
  padding: number,
  dilation = 1,
): CoordMap {
  return {
    scale: map.scale * stride,
    offset: map.offset + map.scale * (-padding + (dilation * (kernel - 1)) / 2),
  };
}

/** After a transposed conv (kernel k, stride s, padding p cut from each side). */
export function throughDeconv(map: CoordMap, kernel: number, stride: number, padding: number): CoordMap {
  return {
    scale: map.scale / stride,
    offset: map.offset + (map.scale * (padding - (kernel - 1) / 2)) / stride,
  };
}

/**
 * The crop that aligns map `a` to map `b` (Caffe's crop layer: `a` cut to `b`'s size starting at
 * this offset). Both must have the same scale and `a` must start at or before `b`.
 */
export function cropOffset(a: CoordMap, b: CoordMap): number {
  if (Math.abs(a.scale - b.scale) > 1e-9)
    throw new Error(`cannot align maps of scale ${a.scale} and ${b.scale}`);
  const offset = (b.offset - a.offset) / a.scale;
  if (offset < -1e-9 || Math.abs(offset - Math.round(offset)) > 1e-9) {
    throw new Error(`maps are misaligned by ${offset} pixels`);
  }
  return Math.round(offset);
}
