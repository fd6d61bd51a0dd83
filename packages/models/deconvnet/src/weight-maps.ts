import { IMAGENET_NORMALIZATION, type TensorSource, type WeightNameMap } from '@semseg/core';
import { VGG16_CONV_NAMES } from '@semseg/vgg16';
import { DECONV_BLOCKS } from './config.js';

/** Our batch-norm field names against PyTorch's. */
const BN_FIELDS: Record<string, string> = {
  weight: 'weight',
  bias: 'bias',
  runningMean: 'running_mean',
  runningVar: 'running_var',
};

/** Our unit prefix -> the seed's nn.Sequential (conv at `.0`, BatchNorm2d at `.1`) and the conv's layout. */
function seedUnits(): Map<string, { key: string; layout: 'conv' | 'conv-transpose' }> {
  const units = new Map<string, { key: string; layout: 'conv' | 'conv-transpose' }>();
  for (const name of VGG16_CONV_NAMES) units.set(`backbone.${name}`, { key: name, layout: 'conv' });
  units.set('backbone.fc6', { key: 'fc6_1', layout: 'conv' });
  units.set('backbone.fc7', { key: 'fc7_1', layout: 'conv' });
  units.set('decoder.fc6_deconv', { key: 'D_fc6_1', layout: 'conv-transpose' });
  DECONV_BLOCKS.forEach((block, k) => {
    block.forEach((_, i) => {
      const name = `${5 - k}_${i + 1}`;
      units.set(`decoder.deconv${name}`, { key: `D_conv${name}`, layout: 'conv-transpose' });
    });
  });
  return units;
}

/**
 * The seed's PyTorch DeconvNet (`CBR`/`DBR` blocks as nn.Sequential(conv, BatchNorm2d, ReLU),
 * `score`): conv weights OIHW, ConvTranspose2d weights [in, out, kh, kw], batch-norm vectors as
 * they are; `num_batches_tracked` is not needed here and is written back on export.
 */
export function seedDeconvNetMap(): WeightNameMap {
  const units = seedUnits();
  const batchNorms = [...units.values()].map((u) => `${u.key}.1`);
  return {
    format: 'pytorch',
    description:
      "the seed's PyTorch DeconvNet (CBR/DBR nn.Sequential blocks, state_dict keys conv1_1.0.weight ..)",
    source(parameter: string): TensorSource | null {
      if (parameter === 'score.weight') return { key: 'score.weight', layout: 'conv' };
      if (parameter === 'score.bias') return { key: 'score.bias', layout: 'same' };
      const dot = parameter.lastIndexOf('.');
      const prefix = parameter.slice(0, dot);
      const field = parameter.slice(dot + 1);
      if (prefix.endsWith('_bn')) {
        const unit = units.get(prefix.slice(0, -3));
        const torchField = BN_FIELDS[field];
        return unit && torchField ? { key: `${unit.key}.1.${torchField}`, layout: 'same' } : null;
      }
      const unit = units.get(prefix);
      if (!unit) return null;
      if (field === 'weight') return { key: `${unit.key}.0.weight`, layout: unit.layout };
      if (field === 'bias') return { key: `${unit.key}.0.bias`, layout: 'same' };
      return null;
    },
    ignore: (key) => key.endsWith('.num_batches_tracked'),
    exportExtras: () =>
      batchNorms.map((bn) => ({
        key: `${bn}.num_batches_tracked`,
        dtype: 'int64' as const,
        shape: [],
        value: 0,
      })),
    normalization: IMAGENET_NORMALIZATION,
  };
}
