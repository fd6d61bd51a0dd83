import { presets } from '@semseg/crf';
import { refineWithCrf } from '@semseg/engine';
import { describe, expect, it } from 'vitest';
import { CrfCancelled, CrfClient, type WorkerLike } from '../src/crf-client.js';
import { runCrfJob } from '../src/crf-job.js';
import type { CrfRequest, CrfResponse } from '../src/crf-protocol.js';
import { CRF_PRESET_NAMES, formFromPreset, settingsFromForm } from '../src/crf-settings.js';

/** A small scene: a bright square on a dark background, with noisy probabilities for 3 classes. */
function scene(width = 24, height = 20) {
  const rgb = new Uint8Array(width * height * 3);
  const probabilities = new Float32Array(width * height * 3);
  let seed = 1;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const inside = x >= 6 && x < 18 && y >= 5 && y < 15;
      rgb.fill(inside ? 220 : 30, p * 3, p * 3 + 3);
      const truth = inside ? 1 : 0;
      const values = [random(), random(), random()];
      values[truth]! += 0.6;
      const sum = values.reduce((a, b) => a + b, 0);
      for (let k = 0; k < 3; k++) probabilities[p * 3 + k] = values[k]! / sum;
    }
  }
  return { width, height, numClasses: 3, rgb, probabilities };
}

describe('CRF settings form', () => {
  it('round-trips every preset', () => {
    for (const name of CRF_PRESET_NAMES) {
      const checked = settingsFromForm(formFromPreset(name));
      expect('settings' in checked && checked.settings).toEqual(presets[name]);
    }
  });

  it('names every bad field', () => {
    const form = {
      ...formFromPreset('deeplabV1'),
      iterations: 2.5,
      bilateralSrgb: 0,
      gaussianCompat: Number.NaN,
    };
    const checked = settingsFromForm(form);
    expect('errors' in checked && checked.errors).toEqual([
      'iterations must be a whole number >= 1 and <= 50 (got 2.5)',
      'smoothness weight must be a number >= 0 and <= 100 (got NaN)',
      'appearance srgb must be a number > 0 and <= 255 (got 0)',
    ]);
  });
});

describe('CRF job (what the worker runs)', () => {
  it('reports each iteration and ends with the labels of the engine path (refineWithCrf)', () => {
    const s = scene();
    const settings = presets.deconvNet;
    const messages: CrfResponse[] = [];
    const request: CrfRequest = { id: 7, ...s, probabilities: s.probabilities.slice(), settings };
    runCrfJob(request, (m) => messages.push(m));
    const progress = messages.filter((m) => m.type === 'progress');
    expect(progress.map((m) => m.type === 'progress' && m.iteration)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    ]);
    const done = messages.at(-1)!;
    expect(done.type).toBe('done');
    if (done.type !== 'done') return;
    const prediction = {
      width: s.width,
      height: s.height,
      numClasses: 3,
      probabilities: s.probabilities,
      labels: new Uint8Array(s.width * s.height),
      timings: { preprocess: 0, network: 0 },
    };
    const reference = refineWithCrf({ width: s.width, height: s.height, data: s.rgb }, prediction, settings);
    expect([...done.labels]).toEqual([...reference.labels]);
    expect(Math.max(...done.q.map((v, i) => Math.abs(v - reference.q[i]!)))).toBe(0);
    // The last progress message already holds the final labels.
    const last = progress.at(-1)!;
    expect(last.type === 'progress' && [...last.labels]).toEqual([...done.labels]);
  });

  it('reports bad input as an error message, not a throw', () => {
    const s = scene();
    const messages: CrfResponse[] = [];
    runCrfJob({ id: 1, ...s, probabilities: new Float32Array(5), settings: presets.deconvNet }, (m) =>
      messages.push(m),
    );
    expect(messages).toHaveLength(1);
    expect(messages[0]!.type).toBe('error');
  });
});

/** A worker that runs the job on the next tick, as a real one would, and can be terminated. */
class FakeWorker implements WorkerLike {
  onmessage: WorkerLike['onmessage'] = null;
  onerror: WorkerLike['onerror'] = null;
  terminated = false;
  postMessage(message: CrfRequest): void {
    setTimeout(() => {
      runCrfJob(message, (response) => {
        if (!this.terminated) this.onmessage?.({ data: response } as MessageEvent<CrfResponse>);
      });
    }, 0);
  }
  terminate(): void {
    this.terminated = true;
  }
}

describe('CRF client', () => {
  it('passes progress on and resolves with the result; the inputs it was given stay usable', async () => {
    const s = scene();
    const client = new CrfClient(() => new FakeWorker());
    const seen: number[] = [];
    const result = await client.run({ ...s, settings: presets.pydensecrfExample }, (i) => seen.push(i));
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(result.labels).toHaveLength(s.width * s.height);
    expect(s.probabilities.length).toBe(s.width * s.height * 3);
    // The square is class 1 after the CRF.
    expect(result.labels[10 * s.width + 12]).toBe(1);
  });

  it('a new run cancels the one in flight', async () => {
    const s = scene();
    const workers: FakeWorker[] = [];
    const client = new CrfClient(() => {
      workers.push(new FakeWorker());
      return workers.at(-1)!;
    });
    const first = client.run({ ...s, settings: presets.deconvNet }, () => {});
    const second = client.run({ ...s, settings: presets.pydensecrfExample }, () => {});
    await expect(first).rejects.toBeInstanceOf(CrfCancelled);
    await expect(second).resolves.toHaveProperty('labels');
    expect(workers[0]!.terminated).toBe(true);
  });

  it('reports a worker that fails to start', async () => {
    const client = new CrfClient(() => {
      const worker = new FakeWorker();
      worker.postMessage = () =>
        setTimeout(() => worker.onerror?.({ message: 'script error' } as ErrorEvent), 0);
      return worker;
    });
    await expect(client.run({ ...scene(), settings: presets.deconvNet }, () => {})).rejects.toThrow(
      'the CRF worker failed: script error',
    );
  });
});
