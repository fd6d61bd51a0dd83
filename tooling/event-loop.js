// For tests that run long synchronous work (a full-width forward on the cpu backend, a torch
// reference): a turn of the event loop between the parts keeps each block of the worker's loop
// short, since vitest fails a run whose worker does not answer its RPC for 60 s.

/**
 * Resolves after the tasks already queued (timers, I/O, vitest's RPC) have had their turn. A timer,
 * not setImmediate: from inside a timer callback, an immediate runs before the loop's next timers
 * phase, so due timers would wait for the next block too.
 */
export function nextMacrotask() {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
