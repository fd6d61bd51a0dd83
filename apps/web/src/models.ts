// The one place the page brings model packages in: each registers its architectures with
// @semseg/core's registry on import, and the page lists whatever the registry holds. A new model
// package (DeconvNet, DeepLab) is one more import line here and no change anywhere else.
import '@semseg/fcn';
import '@semseg/unet';
import '@semseg/fc-densenet';
import '@semseg/pspnet';
import '@semseg/deconvnet';
import '@semseg/deeplab';

export { listModels } from '@semseg/core';
