/** MobileNetV2 (Sandler et al. 2018), width 1.0, torchvision layout. */
import { tf } from '../backend';
import type { NetBuilder, Ref } from './builder';
import { bn, classifier, conv, dwconv, relu } from './layers';

// [expansion t, output channels c, repeats n, first stride s] from the paper's Table 2.
const SETTINGS: Array<[number, number, number, number]> = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

/** MobileNetV2: 3.50 M parameters, 0.30 GMACs at 224×224. */
export function mobilenetv2(b: NetBuilder, size = 224, classes = 1000): Ref {
  const input = b.input([size, size, 3], 'input');
  let x = relu(b, bn(b, conv(b, input, 'features.0.conv', 32, 3, 2), 'features.0.bn'), 'features.0.relu6', 6);
  let cin = 32;
  let idx = 1;
  for (const [t, c, n, s] of SETTINGS) {
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1;
      const p = `features.${idx++}`;
      let y = x;
      if (t !== 1) y = relu(b, bn(b, conv(b, y, `${p}.expand`, cin * t, 1), `${p}.expand_bn`), `${p}.expand_relu6`, 6);
      y = relu(b, bn(b, dwconv(b, y, `${p}.dw`, 3, stride), `${p}.dw_bn`), `${p}.dw_relu6`, 6);
      y = bn(b, conv(b, y, `${p}.project`, c, 1), `${p}.project_bn`);
      x = stride === 1 && cin === c ? b.apply(tf.layers.add({ name: `${p}.add` }), [x, y]) : y;
      cin = c;
    }
  }
  x = relu(b, bn(b, conv(b, x, `features.${idx}.conv`, 1280, 1), `features.${idx}.bn`), `features.${idx}.relu6`, 6);
  return classifier(b, x, classes, 0.2);
}
