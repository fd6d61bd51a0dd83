// torchvision's DeepLabv3 ResNet-101 against ours (its own file: the heaviest case, which one of
// vitest's two workers runs while the other runs the rest).
import '../src/index.js';
import { describeTorchvisionCases, onCpuWithoutLeaks } from './torchvision-cases.js';

onCpuWithoutLeaks();
describeTorchvisionCases(['deeplabv3-resnet101']);
