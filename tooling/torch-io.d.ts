export interface NamedArray {
  shape: number[];
  data: Float32Array;
}
export declare const TORCH_PRELUDE: string;
export declare const TORCHVISION_HELPERS: string;
/** Runs a PyTorch script body with arrays in; returns the arrays it saved and the files named in `read`. */
export declare function runTorchFiles(
  body: string,
  inputs?: Record<string, NamedArray>,
  read?: string[],
  extraFiles?: Record<string, Uint8Array>,
): { arrays: Record<string, NamedArray>; files: Record<string, Uint8Array> };
/** `runTorchFiles` on a child process that does not block the event loop. */
export declare function runTorchFilesAsync(
  body: string,
  inputs?: Record<string, NamedArray>,
  read?: string[],
  extraFiles?: Record<string, Uint8Array>,
): Promise<{ arrays: Record<string, NamedArray>; files: Record<string, Uint8Array> }>;
/** Runs a PyTorch script body with arrays in; returns the arrays it saved. */
export declare function runTorchArrays(
  body: string,
  inputs?: Record<string, NamedArray>,
): Record<string, NamedArray>;
export declare function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number;
export declare function maxAbs(a: ArrayLike<number>): number;
