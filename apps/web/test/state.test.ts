import { describe, expect, it } from 'vitest';
import {
  type AppState,
  type NetworkResult,
  Store,
  crfChanges,
  initialState,
  recordRun,
  shownMap,
} from '../src/state.js';

function network(labels: number[], backend = 'wasm'): NetworkResult {
  return {
    width: labels.length,
    height: 1,
    numClasses: 3,
    labels: new Uint8Array(labels),
    probabilities: new Float32Array(labels.length * 3).fill(1 / 3),
    backend,
    inference: 'whole image, scale 1',
    timings: { decode: 1, preprocess: 2, network: 30, total: 33 },
  };
}

describe('page state', () => {
  it('starts busy, CRF off with the default preset, nothing loaded', () => {
    const state = initialState('webgpu');
    expect(state.backendChoice).toBe('webgpu');
    expect(state.status.kind).toBe('busy');
    expect(state.crf.enabled).toBe(false);
    expect(state.crf.preset).toBe('deconvNet');
    expect(state.crf.form.iterations).toBe(10);
    expect(shownMap(state)).toBeNull();
  });

  it('compares runs of one image across backends against the first run', () => {
    const first = network([0, 1, 2, 2], 'wasm');
    let runs = recordRun([], null, first, false);
    expect(runs).toEqual([{ backend: 'wasm', preprocess: 2, network: 30, total: 33, agreementWithFirst: 1 }]);
    runs = recordRun(runs, first, network([0, 1, 2, 0], 'webgpu'), true);
    expect(runs.map((r) => [r.backend, r.agreementWithFirst])).toEqual([
      ['wasm', 1],
      ['webgpu', 0.75],
    ]);
    // A new image or checkpoint starts a new comparison.
    runs = recordRun(runs, first, network([1, 1, 1, 1], 'cpu'), false);
    expect(runs.map((r) => [r.backend, r.agreementWithFirst])).toEqual([['cpu', 1]]);
  });

  it("shows the network's labels, the CRF's progress while it runs, then the CRF's result", () => {
    const base: AppState = { ...initialState('auto'), network: network([0, 1, 2, 2]) };
    expect(shownMap(base)?.refined).toBe(false);
    expect([...shownMap(base)!.map.labels]).toEqual([0, 1, 2, 2]);
    const running: AppState = {
      ...base,
      crf: { ...base.crf, enabled: true, running: true, progressLabels: new Uint8Array([0, 0, 2, 2]) },
    };
    expect(shownMap(running)?.refined).toBe(true);
    expect([...shownMap(running)!.map.labels]).toEqual([0, 0, 2, 2]);
    const q = new Float32Array(12).fill(0.5);
    const done: AppState = {
      ...base,
      crf: {
        ...base.crf,
        enabled: true,
        result: { labels: new Uint8Array([0, 0, 0, 2]), q, milliseconds: 5, engine: 'wasm' },
      },
    };
    expect([...shownMap(done)!.map.labels]).toEqual([0, 0, 0, 2]);
    expect(shownMap(done)!.map.probabilities).toBe(q);
    expect(crfChanges(done)).toEqual({ pixels: 2, share: 0.5 });
    // Turning the CRF off shows the network's labels again.
    expect([...shownMap({ ...done, crf: { ...done.crf, enabled: false } })!.map.labels]).toEqual([
      0, 1, 2, 2,
    ]);
  });

  it('store: subscribers get the current state and every update', () => {
    const store = new Store(initialState('auto'));
    const seen: string[] = [];
    store.subscribe((s) => seen.push(s.status.text));
    store.update((s) => ({ ...s, status: { kind: 'ready', text: 'done' } }));
    expect(seen).toEqual(['Starting…', 'done']);
    expect(store.state.status.kind).toBe('ready');
  });
});
