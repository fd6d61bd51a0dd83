// The PSPNet head as the reference builds it (hszhao/semseg model/pspnet.py), in PyTorch, and our
// weights in its layouts through the PyTorch name map of @semseg/layers (torchNameMap).
import { IMAGENET_NORMALIZATION, type Module, type WeightNameMap } from '@semseg/core';
import { torchNameMap } from '@semseg/layers';
import * as tf from '@tensorflow/tfjs-core';
import type { NamedArray } from './torch-io.js';

/**
 * Python: `PSP(backbone, c3, c4, classes, bins, cls_mid, aux_mid, p, align)`, `load_ours(net,
 * arrays)`, and `scaled_resnet(depth, width, replace_stride_with_dilation, fc)`: torchvision's own
 * ResNet (its Bottleneck and _make_layer) with every width scaled as @semseg/resnet scales it,
 * returning (layer3, layer4).
 */
export const PY_PSPNET = `
import torchvision
from torchvision.models.resnet import ResNet, Bottleneck

def scaled(n, width):
    return max(1, int(round(n * width)))

class ScaledResNet(ResNet):
    def __init__(self, layers, width, rswd, fc=None):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes, self.dilation, self.groups, self.base_width = scaled(64, width), 1, 1, 64
        self.conv1 = nn.Conv2d(3, self.inplanes, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(Bottleneck, scaled(64, width), layers[0])
        self.layer2 = self._make_layer(Bottleneck, scaled(128, width), layers[1], stride=2, dilate=rswd[0])
        self.layer3 = self._make_layer(Bottleneck, scaled(256, width), layers[2], stride=2, dilate=rswd[1])
        self.layer4 = self._make_layer(Bottleneck, scaled(512, width), layers[3], stride=2, dilate=rswd[2])
        if fc:
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(self.inplanes, fc)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        l3 = self.layer3(self.layer2(self.layer1(x)))
        return l3, self.layer4(l3)

def scaled_resnet(depth, width, rswd, fc=None):
    return ScaledResNet({50: [3, 4, 6, 3], 101: [3, 4, 23, 3]}[depth], width, rswd, fc)

class PPM(nn.Module):
    def __init__(self, in_dim, reduction_dim, bins, align):
        super().__init__()
        self.align = align
        self.features = nn.ModuleList([
            nn.Sequential(nn.AdaptiveAvgPool2d(b), nn.Conv2d(in_dim, reduction_dim, 1, bias=False),
                          nn.BatchNorm2d(reduction_dim), nn.ReLU(inplace=True))
            for b in bins])

    def forward(self, x):
        out = [x]
        for f in self.features:
            out.append(F.interpolate(f(x), x.shape[2:], mode='bilinear', align_corners=self.align))
        return torch.cat(out, 1)

def conv_head(cin, mid, classes, p):
    return nn.Sequential(nn.Conv2d(cin, mid, 3, padding=1, bias=False), nn.BatchNorm2d(mid),
                         nn.ReLU(inplace=True), nn.Dropout2d(p), nn.Conv2d(mid, classes, 1))

class PSP(nn.Module):
    def __init__(self, backbone, c3, c4, classes, bins, cls_mid, aux_mid, p, align):
        super().__init__()
        self.align = align
        self.backbone = backbone
        reduction = c4 // len(bins)
        self.ppm = PPM(c4, reduction, bins, align)
        self.cls = conv_head(c4 + len(bins) * reduction, cls_mid, classes, p)
        self.aux = conv_head(c3, aux_mid, classes, p)

    def forward(self, x):
        l3, l4 = self.backbone(x)
        up = lambda y: F.interpolate(y, x.shape[2:], mode='bilinear', align_corners=self.align)
        main = up(self.cls(self.ppm(l4)))
        return main, (up(self.aux(l3)) if self.training else None)

def load_ours(net, arrays):
    result = net.load_state_dict(arrays, strict=False)
    assert not result.unexpected_keys, 'unexpected: %s' % result.unexpected_keys
    missing = [k for k in result.missing_keys if not k.endswith('num_batches_tracked')]
    assert not missing, 'missing: %s' % missing
`;

/**
 * Every parameter and buffer of `model` under its PyTorch key, conv weights OIHW, through `map`
 * (default: the identity map of @semseg/layers' torchNameMap).
 */
export function exportForTorch(
  model: Module,
  map: WeightNameMap = torchNameMap(model, { description: 'test', normalization: IMAGENET_NORMALIZATION }),
): Record<string, NamedArray> {
  const out: Record<string, NamedArray> = {};
  for (const [name, tensor] of Object.entries(model.stateDict())) {
    const source = map.source(name);
    if (!source) throw new Error(`the name map has no source for ${name}`);
    const value = source.layout === 'conv' ? tf.transpose(tensor, [3, 2, 0, 1]) : tensor;
    out[source.key] = { shape: [...value.shape], data: Float32Array.from(value.dataSync()) };
    if (value !== tensor) value.dispose();
  }
  return out;
}

/** Draws batch-norm scales, shifts and running statistics so that no layer is an identity. */
export function randomizeBatchNorm(model: Module, seed: number): void {
  let s = seed;
  const next = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const state = model.stateDict();
  for (const entry of model.namedEntries()) {
    const leaf = entry.name.slice(entry.name.lastIndexOf('.') + 1);
    const module = entry.name.slice(0, entry.name.lastIndexOf('.'));
    if (state[`${module}.running_mean`] === undefined) continue;
    const n = entry.variable.size;
    const values = Float32Array.from({ length: n }, () => {
      const u = next();
      if (leaf === 'running_var') return 0.5 + u;
      if (leaf === 'weight') return 0.5 + u;
      return u - 0.5;
    });
    const value = tf.tensor1d(values);
    entry.variable.assign(value);
    value.dispose();
  }
}
