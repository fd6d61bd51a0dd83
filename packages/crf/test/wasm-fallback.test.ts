// A browser's main thread refuses synchronous WebAssembly compiles over 4 KB. Simulated here: the
// 'auto' engine must fall back to the TypeScript loops (same numbers as engine 'js'), an explicit
// 'wasm' must say what to do, and prepareWasm() must make the kernels usable afterwards.
import { afterAll, describe, expect, it } from 'vitest';
import { maxAbsDiff } from './fixture.js';
import { syntheticScene } from './scene.js';

const Original = WebAssembly.Module;
class MainThreadModule extends Original {
  constructor(bytes: BufferSource) {
    if (bytes.byteLength > 4096) {
      throw new RangeError('WebAssembly.Module(): Argument 0 exceeds the 4 KB main-thread limit');
    }
    super(bytes);
  }
}
(WebAssembly as { Module: typeof WebAssembly.Module }).Module = MainThreadModule;
afterAll(() => {
  (WebAssembly as { Module: typeof WebAssembly.Module }).Module = Original;
});

// Imported after the stub so that nothing was compiled before it.
const { DenseCRF2D, prepareWasm } = await import('../src/index.js');

// 21 labels: kernel modules of about 7 KB, over the limit.
const scene = syntheticScene(48, 36, 21, 8);
function run(engine: 'auto' | 'wasm' | 'js', { width, height, labels, unary, rgb } = scene) {
  const crf = new DenseCRF2D(width, height, labels, { engine });
  crf.setUnaryEnergy(unary);
  crf.addPairwiseGaussian({ sxy: 3, compat: 3 });
  crf.addPairwiseBilateral({ sxy: 20, srgb: 13, rgb, compat: 5 });
  return { crf, q: () => crf.inference(3) };
}

describe('where synchronous WebAssembly compiles are refused', () => {
  it("falls back from 'auto' to the js engine, with its numbers to float rounding", () => {
    const auto = run('auto');
    const q = auto.q();
    expect(auto.crf.engine).toBe('js');
    // Lattices under the limit (d = 2) were still built in WebAssembly, whose normaliser rounds in
    // float32: the same to float rounding, not bit for bit.
    expect(maxAbsDiff(q, run('js').q())).toBeLessThan(1e-5);
    // Stepwise inference falls back the same way.
    const stepwise = run('auto').crf;
    const state = stepwise.startInference();
    for (let i = 0; i < 3; i++) stepwise.stepInference(state);
    expect(maxAbsDiff(state.q, q)).toBe(0);
  });

  it("tells an explicit 'wasm' to use a Worker or prepareWasm", () => {
    // 19 labels: kernels the earlier test's refused compiles did not start compiling in the
    // background (a turn of the event loop between tests may let those finish).
    const other = syntheticScene(48, 36, 19, 8);
    expect(() => run('wasm', other).q()).toThrow(/options.engine: 'wasm'.*Worker.*prepareWasm/);
  });

  it('runs on WebAssembly after prepareWasm() compiled the kernels in the background', async () => {
    expect(await prepareWasm({ labels: scene.labels })).toBe(true);
    const prepared = run('auto');
    const q = prepared.q();
    expect(prepared.crf.engine).toBe('wasm');
    (WebAssembly as { Module: typeof WebAssembly.Module }).Module = Original;
    expect(maxAbsDiff(q, run('wasm').q())).toBe(0);
    await expect(prepareWasm({ labels: 1 })).rejects.toThrow(/labels: must be an integer from 2 to 256/);
  });
});
