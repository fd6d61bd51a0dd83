// The sample images and the demo checkpoint shipped in public/ (see scripts/train-demo-checkpoint.ts).
const base = import.meta.env.BASE_URL;

export const SAMPLE_IMAGES = ['synthetic-1.png', 'synthetic-2.png', 'synthetic-3.png'].map((name) => ({
  name,
  url: `${base}samples/${name}`,
}));

export const DEMO_CHECKPOINT_URL = `${base}demo/model.json`;
