// Importing a model package registers its architectures with @semseg/core's registry, so that
// checkpoints naming them load and `--model` accepts them.
import '@semseg/fcn';
import '@semseg/unet';
import '@semseg/fc-densenet';
import '@semseg/pspnet';
import '@semseg/deconvnet';
import '@semseg/deeplab';

export { getModelDefinition, listModels } from '@semseg/core';
