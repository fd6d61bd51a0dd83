import type { Module, Rng } from '@semseg/core';
import { Conv2d, Dropout, normal, zeros } from '@semseg/layers';
import { VGG16, scaledChannels } from '@semseg/vgg16';
import * as tf from '@tensorflow/tfjs-core';

/**
 * DeepLab's VGG16 up to pool5: 3x3 pools (stride 2 pad 1 for pool1-3, stride 1 pad 1 for
 * pool4/pool5), Caffe's ceil rule, conv5 dilated 2 (the `hole: 2` of the prototxts).
 */
export function deeplabVgg16(width: number, rng: Rng): VGG16 {
  return new VGG16({ fc: 'none', outputStride: 8, pool: '3x3', ceilMode: true, width }, rng);
}

/** fc6 (3x3, dilation r) / relu / drop / fc7 (1x1) / relu / drop / fc8 (1x1 to the classes). */
export interface FcBranch {
  fc6: Conv2d;
  drop6: Dropout;
  fc7: Conv2d;
  drop7: Dropout;
  fc8: Conv2d;
}

export interface FcBranchNames {
  fc6: string;
  drop6: string;
  fc7: string;
  drop7: string;
  fc8: string;
}

type Register = <M extends Module>(name: string, module: M) => M;

/**
 * One LargeFOV branch, its layers registered on the model under the prototxt's names (fc6 ...
 * for v1, fc6_1 ... for ASPP). fc6/fc7 start as VGG16's fc layers (N(0, 0.01)) until ImageNet
 * weights are loaded; fc8 is the prototxts' gaussian std 0.01, bias 0.
 */
export function fcBranch(
  register: Register,
  names: FcBranchNames,
  options: {
    inChannels: number;
    width: number;
    dilation: number;
    numClasses: number;
    dropout: number;
    rng: Rng;
  },
): FcBranch {
  const { inChannels, dilation, numClasses, dropout, rng } = options;
  const channels = scaledChannels(1024, options.width);
  const conv = (name: string, cin: number, cout: number, kernel: number, d: number) =>
    register(
      name,
      new Conv2d({
        inChannels: cin,
        outChannels: cout,
        kernelSize: kernel,
        dilation: d,
        padding: (d * (kernel - 1)) / 2,
        rng: rng.derive(name),
        weightInit: normal(0.01),
        biasInit: zeros(),
      }),
    );
  return {
    fc6: conv(names.fc6, inChannels, channels, 3, dilation),
    drop6: register(names.drop6, new Dropout(dropout, rng.derive(names.drop6))),
    fc7: conv(names.fc7, channels, channels, 1, 1),
    drop7: register(names.drop7, new Dropout(dropout, rng.derive(names.drop7))),
    fc8: conv(names.fc8, channels, numClasses, 1, 1),
  };
}

export function runFcBranch(branch: FcBranch, x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const f6 = branch.drop6.forward(branch.fc6.forward(x, { activation: 'relu' }));
    const f7 = branch.drop7.forward(branch.fc7.forward(f6, { activation: 'relu' }));
    return branch.fc8.forward(f7);
  });
}
