// Turns anything thrown into one sentence for the page: our own errors say what is wrong already;
// a few browser and tfjs failures get a translation; the rest is shown as it is, never swallowed.

const OUT_OF_MEMORY =
  /out of memory|failed to allocate|allocation failed|CONTEXT_LOST|context lost|device was lost|Array buffer allocation|Invalid typed array length|buffer size.*exceed|exceeds the max/i;

export function userMessage(error: unknown): string {
  if (error instanceof Error) {
    const message = error.message.split('\n')[0] ?? error.message;
    if (OUT_OF_MEMORY.test(message)) {
      return `The device ran out of memory for this model or image (${message}). Try a smaller image, a smaller model or another backend.`;
    }
    return message || error.name;
  }
  if (typeof error === 'string') return error;
  return `Unexpected failure: ${String(error)}`;
}
