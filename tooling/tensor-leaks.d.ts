/** What the hooks need of tfjs (the `tf` namespace of @tensorflow/tfjs-core). */
export interface TensorCounter {
  setBackend(name: string): Promise<boolean>;
  memory(): { numTensors: number };
}

/**
 * Registers, in the calling test file or describe block: the backend (when given) before all
 * tests, and after each test, that it left no more and no fewer tensors than it found.
 */
export declare function withoutTensorLeaks(tf: TensorCounter, options?: { backend?: string }): void;
