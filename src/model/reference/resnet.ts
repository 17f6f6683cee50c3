/** ResNet-18 and ResNet-50 (He et al. 2016), torchvision v1.5 layout (stride on the 3×3). */
import { tf } from '../backend';
import type { NetBuilder, Ref } from './builder';
import { bn, classifier, conv, relu } from './layers';

function basicBlock(b: NetBuilder, x: Ref, p: string, cin: number, width: number, stride: number): Ref {
  let y = relu(b, bn(b, conv(b, x, `${p}.conv1`, width, 3, stride), `${p}.bn1`), `${p}.relu1`);
  y = bn(b, conv(b, y, `${p}.conv2`, width, 3), `${p}.bn2`);
  const skip = stride !== 1 || cin !== width ? bn(b, conv(b, x, `${p}.downsample.0`, width, 1, stride), `${p}.downsample.1`) : x;
  return relu(b, b.apply(tf.layers.add({ name: `${p}.add` }), [y, skip]), `${p}.relu`);
}

function bottleneck(b: NetBuilder, x: Ref, p: string, cin: number, width: number, stride: number): Ref {
  const cout = width * 4;
  let y = relu(b, bn(b, conv(b, x, `${p}.conv1`, width, 1), `${p}.bn1`), `${p}.relu1`);
  y = relu(b, bn(b, conv(b, y, `${p}.conv2`, width, 3, stride), `${p}.bn2`), `${p}.relu2`);
  y = bn(b, conv(b, y, `${p}.conv3`, cout, 1), `${p}.bn3`);
  const skip = stride !== 1 || cin !== cout ? bn(b, conv(b, x, `${p}.downsample.0`, cout, 1, stride), `${p}.downsample.1`) : x;
  return relu(b, b.apply(tf.layers.add({ name: `${p}.add` }), [y, skip]), `${p}.relu`);
}

function resnet(b: NetBuilder, size: number, classes: number, blocks: number[], kind: 'basic' | 'bottleneck'): Ref {
  const input = b.input([size, size, 3], 'input');
  let x = relu(b, bn(b, conv(b, input, 'conv1', 64, 7, 2), 'bn1'), 'relu');
  x = b.apply(tf.layers.maxPooling2d({ name: 'maxpool', poolSize: 3, strides: 2, padding: 'same' }), x);
  const expansion = kind === 'basic' ? 1 : 4;
  let cin = 64;
  blocks.forEach((n, stage) => {
    const width = 64 * 2 ** stage;
    for (let i = 0; i < n; i++) {
      const stride = i === 0 && stage > 0 ? 2 : 1;
      const p = `layer${stage + 1}.${i}`;
      x = kind === 'basic' ? basicBlock(b, x, p, cin, width, stride) : bottleneck(b, x, p, cin, width, stride);
      cin = width * expansion;
    }
  });
  return classifier(b, x, classes);
}

/** ResNet-18: 11.69 M parameters, 1.81 GMACs at 224×224. */
export function resnet18(b: NetBuilder, size = 224, classes = 1000): Ref {
  return resnet(b, size, classes, [2, 2, 2, 2], 'basic');
}

/** ResNet-50: 25.56 M parameters, 4.09 GMACs at 224×224. */
export function resnet50(b: NetBuilder, size = 224, classes = 1000): Ref {
  return resnet(b, size, classes, [3, 4, 6, 3], 'bottleneck');
}
