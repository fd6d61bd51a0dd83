/** A seeded generator with the two draws the scenes use (@semseg/core's Rng has them). */
export interface SceneRandom {
  int(n: number): number;
  uniform(lo: number, hi: number): number;
}
/** Small synthetic scenes: 3 classes (background, a rectangle, a disc), NHWC images and labels. */
export declare function syntheticScenes(
  count: number,
  size: number,
  rng: SceneRandom,
): { images: Float32Array; labels: Uint8Array };
