import * as tf from '@tensorflow/tfjs-core';

/**
 * Rotates a [kh, kw, ...] kernel by 180 degrees (reverses both spatial axes). Reversing the
 * flattened kh*kw index reverses both axes at once. On wasm and cpu that is kh*kw row slices
 * concatenated in reverse order: with the in-place wasm Slice that selectBackend installs
 * (@semseg/core), 3-6x faster than a matmul by an anti-identity, which itself ran ~10x faster than
 * tf.reverse or gather (measured, docs/architecture.md). On GPU backends the matmul is one
 * dispatch where the slices are kh*kw + 1.
 */
export function rotate180(kernel: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, a, b] = kernel.shape;
  const taps = kh * kw;
  if (taps === 1) return kernel;
  return tf.tidy(() => {
    const flat = tf.reshape(kernel, [taps, a * b]);
    const backend = tf.getBackend();
    const flipped =
      backend === 'wasm' || backend === 'cpu'
        ? tf.concat(
            Array.from({ length: taps }, (_, t) => tf.slice(flat, [taps - 1 - t, 0], [1, a * b])),
            0,
          )
        : tf.matMul(tf.tensor2d(antiIdentity(taps), [taps, taps]), flat);
    return tf.reshape(flipped, [kh, kw, a, b]);
  });
}

function antiIdentity(n: number): Float32Array {
  const anti = new Float32Array(n * n);
  for (let i = 0; i < n; i++) anti[i * n + (n - 1 - i)] = 1;
  return anti;
}
