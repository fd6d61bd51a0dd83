/** Top-left corners of sliding windows covering `size` with `window` and `stride` (mmsegmentation's grid). */
export function windowStarts(size: number, window: number, stride: number): number[] {
  if (size <= window) return [0];
  const count = Math.ceil((size - window) / stride) + 1;
  const starts: number[] = [];
  for (let i = 0; i < count; i++) starts.push(Math.min(i * stride, size - window));
  return [...new Set(starts)];
}
