import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { encode } from 'fast-png';
import sharp from 'sharp';
import { IGNORE_INDEX } from '../classes.js';
import { vocColorMap } from '../colormap.js';
import { encodeLabelPng } from '../png-label.js';
import { type RandomSource, SeededRandom, randomInt, uniform } from '../random.js';

export interface SyntheticVocOptions {
  seed?: number | string;
  /** Number of images (default 12). */
  count?: number;
  /** Classes including background (default 21, as VOC); shapes use classes 1..numClasses-1. */
  numClasses?: number;
  /** Side lengths are drawn in [minSize, maxSize] (default 40..96); image 0 is always odd by odd. */
  minSize?: number;
  maxSize?: number;
  /** Share of ids in val.txt (default 0.25, at least one when count >= 2). */
  valFraction?: number;
  /** 'VOCdevkit' writes `<dir>/VOCdevkit/VOC2012/...` and returns the VOCdevkit folder as root. */
  layout?: 'VOC2012' | 'VOCdevkit';
  /** Also write the SBD layout: greyscale SegmentationClassAug/*.png and train_aug.txt. */
  sbd?: boolean;
  /** JPEG quality (default 95, 4:4:4 chroma). */
  quality?: number;
  /** Width in pixels of the void (255) band along object outlines (default 2). */
  voidWidth?: number;
}

export interface SyntheticSample {
  id: string;
  width: number;
  height: number;
  /** The RGB pixels before JPEG compression; the file decodes to these within JPEG error. */
  rendered: Uint8Array;
  /** The label written to the PNG, exactly. */
  label: Uint8Array;
}

export interface SyntheticVoc {
  /** The folder to give the readers (the VOCdevkit folder with layout 'VOCdevkit'). */
  root: string;
  /** The VOC2012 folder. */
  vocRoot: string;
  ids: string[];
  splits: Record<'train' | 'val' | 'trainval', string[]> & { train_aug?: string[] };
  samples: SyntheticSample[];
}

type Shape = {
  kind: 'ellipse' | 'rectangle' | 'triangle';
  cls: number;
  cx: number;
  cy: number;
  rx: number;
  ry: number;
};

function insideShape(shape: Shape, x: number, y: number): boolean {
  const dx = (x + 0.5 - shape.cx) / shape.rx;
  const dy = (y + 0.5 - shape.cy) / shape.ry;
  if (shape.kind === 'ellipse') return dx * dx + dy * dy <= 1;
  if (shape.kind === 'rectangle') return Math.abs(dx) <= 1 && Math.abs(dy) <= 1;
  // Upward triangle inscribed in the box.
  return dy <= 1 && dy >= -1 && Math.abs(dx) <= (dy + 1) / 2;
}

function drawShapes(width: number, height: number, numClasses: number, random: RandomSource): Uint8Array {
  const classes = new Uint8Array(width * height);
  if (numClasses < 2) return classes;
  const count = 1 + randomInt(random, 4);
  const kinds: Shape['kind'][] = ['ellipse', 'rectangle', 'triangle'];
  for (let s = 0; s < count; s++) {
    const shape: Shape = {
      kind: kinds[randomInt(random, kinds.length)],
      cls: 1 + randomInt(random, numClasses - 1),
      cx: uniform(random, 0.15, 0.85) * width,
      cy: uniform(random, 0.15, 0.85) * height,
      rx: uniform(random, 0.12, 0.35) * width,
      ry: uniform(random, 0.12, 0.35) * height,
    };
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) if (insideShape(shape, x, y)) classes[y * width + x] = shape.cls;
    }
  }
  return classes;
}

/** Marks as void every pixel within `radius` of a pixel of another class, as VOC outlines objects. */
function voidBorders(classes: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  const label = classes.slice();
  if (radius <= 0) return label;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const own = classes[y * width + x];
      let border = false;
      for (let dy = -radius; dy <= radius && !border; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -radius; dx <= radius; dx++) {
          const xx = x + dx;
          if (xx >= 0 && xx < width && classes[yy * width + xx] !== own) {
            border = true;
            break;
          }
        }
      }
      if (border) label[y * width + x] = IGNORE_INDEX;
    }
  }
  return label;
}

/** Textured background plus class-coloured, textured shapes: each class has its own look. */
function renderImage(classes: Uint8Array, width: number, height: number, random: RandomSource): Uint8Array {
  const colors = vocColorMap(256);
  const base = [uniform(random, 40, 200), uniform(random, 40, 200), uniform(random, 40, 200)];
  const frequency = uniform(random, 0.05, 0.3);
  const angle = uniform(random, 0, Math.PI);
  const phase = uniform(random, 0, 2 * Math.PI);
  const image = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const cls = classes[p];
      const wave = Math.sin((x * Math.cos(angle) + y * Math.sin(angle)) * frequency + phase);
      const noise = uniform(random, -12, 12);
      for (let c = 0; c < 3; c++) {
        const value =
          cls === 0
            ? base[c] + 35 * wave + noise
            : colors[cls][c] * 0.7 + 40 + 20 * Math.sin((x + y * (cls % 3)) * 0.5 * (1 + c)) + noise;
        image[p * 3 + c] = Math.max(0, Math.min(255, Math.round(value)));
      }
    }
  }
  return image;
}

function drawSize(random: RandomSource, min: number, max: number, odd: boolean): number {
  const size = min + randomInt(random, max - min + 1);
  if (!odd || size % 2 === 1) return size;
  return size + 1 <= max ? size + 1 : size - 1;
}

/**
 * Writes a seeded synthetic dataset in exactly the VOC 2012 layout: JPEGImages/*.jpg,
 * SegmentationClass/*.png (8-bit palette PNGs with the VOC palette), ImageSets/Segmentation/
 * {train,val,trainval}.txt; optionally the SBD layout too. Returns what it wrote.
 */
export async function generateSyntheticVoc(
  dir: string,
  options: SyntheticVocOptions = {},
): Promise<SyntheticVoc> {
  const seed = options.seed ?? 0;
  const count = options.count ?? 12;
  const numClasses = options.numClasses ?? 21;
  const minSize = options.minSize ?? 40;
  const maxSize = options.maxSize ?? 96;
  const quality = options.quality ?? 95;
  const voidWidth = options.voidWidth ?? 2;
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError(`count must be a positive integer, got ${count}`);
  if (!(minSize >= 2 && maxSize >= minSize))
    throw new RangeError(`need 2 <= minSize <= maxSize, got ${minSize}..${maxSize}`);
  if (numClasses < 1 || numClasses > 255)
    throw new RangeError(`numClasses must be in 1..255, got ${numClasses}`);

  const root = resolve(dir);
  const vocRoot = options.layout === 'VOCdevkit' ? join(root, 'VOCdevkit', 'VOC2012') : root;
  const folders = ['JPEGImages', 'SegmentationClass', 'ImageSets/Segmentation'];
  if (options.sbd) folders.push('SegmentationClassAug');
  await Promise.all(folders.map((folder) => mkdir(join(vocRoot, folder), { recursive: true })));

  const samples: SyntheticSample[] = [];
  for (let i = 0; i < count; i++) {
    // One generator per image: image i does not change when `count` does.
    const random = SeededRandom.forSample(seed, 0x5717, i);
    const width = drawSize(random, minSize, maxSize, i === 0);
    const height = drawSize(random, minSize, maxSize, i === 0);
    const classes = drawShapes(width, height, numClasses, random);
    const label = voidBorders(classes, width, height, voidWidth);
    const rendered = renderImage(classes, width, height, random);
    const id = `2000_${String(i).padStart(6, '0')}`;
    samples.push({ id, width, height, rendered, label });
  }

  await Promise.all(
    samples.map(async (sample) => {
      const jpeg = await sharp(sample.rendered, {
        raw: { width: sample.width, height: sample.height, channels: 3 },
      })
        .jpeg({ quality, chromaSubsampling: '4:4:4' })
        .toBuffer();
      await writeFile(join(vocRoot, 'JPEGImages', `${sample.id}.jpg`), jpeg);
      await writeFile(
        join(vocRoot, 'SegmentationClass', `${sample.id}.png`),
        encodeLabelPng(sample.label, sample.width, sample.height),
      );
      if (options.sbd) {
        const gray = encode({
          width: sample.width,
          height: sample.height,
          data: sample.label,
          depth: 8,
          channels: 1,
        });
        await writeFile(join(vocRoot, 'SegmentationClassAug', `${sample.id}.png`), gray);
      }
    }),
  );

  const ids = samples.map((s) => s.id);
  const valCount = count < 2 ? 0 : Math.max(1, Math.round(count * (options.valFraction ?? 0.25)));
  const splits: SyntheticVoc['splits'] = {
    train: ids.slice(0, count - valCount),
    val: ids.slice(count - valCount),
    trainval: ids.slice(),
  };
  if (options.sbd) splits.train_aug = splits.train.slice();
  const listDir = join(vocRoot, 'ImageSets', 'Segmentation');
  await Promise.all(
    Object.entries(splits).map(([name, list]) =>
      writeFile(join(listDir, `${name}.txt`), list.length > 0 ? `${list.join('\n')}\n` : ''),
    ),
  );
  return {
    root: options.layout === 'VOCdevkit' ? join(root, 'VOCdevkit') : root,
    vocRoot,
    ids,
    splits,
    samples,
  };
}
