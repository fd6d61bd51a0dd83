// One thread's part of mean-field inference. Each iteration: (A) for its label block, every
// kernel's splat/blur/slice (Potts messages go straight into `messages`); barrier; (B) for its pixel
// block, non-Potts compatibilities and Q = softmax(messages - U); barrier. Labels are independent
// through filtering and pixels through the softmax, so no two threads write the same value.
import { subtractCompatibility } from '../compatibility.js';
import { filterLoops } from '../filter-loops.js';
import { softmaxFor } from '../softmax.js';
import { waitAtBarrier } from './barrier.js';
import type { ThreadTask } from './plan.js';

export function runTask(task: ThreadTask): void {
  const { points, labels, labelStart, labelEnd, pixelStart, pixelEnd, unary, q, messages } = task;
  const softmax = softmaxFor(labels, task.plainLoops);
  const width = labelEnd - labelStart;
  const buffers = task.kernels.map((k) => {
    const size = (k.vertices + 2) * Math.max(width, 1);
    return { values: new Float32Array(size), scratch: new Float32Array(size) };
  });
  for (let it = 0; it < task.iterations; it++) {
    if (width > 0) {
      task.kernels.forEach((kernel, index) => {
        const loops = filterLoops(kernel.dims + 1, width, task.plainLoops);
        const { values, scratch } = buffers[index];
        values.fill(0);
        loops.splat(points, labels, labelStart, kernel.offsets, kernel.weights, kernel.pre, q, values);
        const blurred = loops.blur(kernel.vertices, kernel.neighbours, values, scratch);
        if (kernel.compat.kind === 'potts') {
          const scale = kernel.compat.weight * kernel.alpha;
          loops.slice(
            0,
            points,
            labels,
            labelStart,
            kernel.offsets,
            kernel.weights,
            kernel.post,
            scale,
            blurred,
            messages,
          );
        } else {
          const out = kernel.filtered;
          for (let i = 0; i < points; i++) out.fill(0, i * labels + labelStart, i * labels + labelEnd);
          loops.slice(
            0,
            points,
            labels,
            labelStart,
            kernel.offsets,
            kernel.weights,
            kernel.post,
            kernel.alpha,
            blurred,
            out,
          );
        }
      });
    }
    waitAtBarrier(task.barrier, task.parties);
    for (const kernel of task.kernels) {
      if (kernel.compat.kind === 'potts') continue;
      const rows = kernel.filtered.subarray(pixelStart * labels, pixelEnd * labels);
      subtractCompatibility(
        kernel.compat,
        rows,
        labels,
        messages.subarray(pixelStart * labels, pixelEnd * labels),
      );
    }
    softmax(messages, unary, q, pixelStart, pixelEnd);
    // Messages start from zero next iteration; every thread zeroes its own pixels.
    messages.fill(0, pixelStart * labels, pixelEnd * labels);
    waitAtBarrier(task.barrier, task.parties);
  }
}
