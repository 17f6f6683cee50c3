/** EfficientNet-B0 (Tan & Le 2019): MBConv blocks with squeeze-and-excitation and swish. */
import { tf } from '../backend';
import type { NetBuilder, Ref } from './builder';
import { act, bn, classifier, conv, dwconv } from './layers';

// [expansion, kernel, first stride, output channels, repeats] from the paper's Table 1.
const STAGES: Array<[number, number, number, number, number]> = [
  [1, 3, 1, 16, 1],
  [6, 3, 2, 24, 2],
  [6, 5, 2, 40, 2],
  [6, 3, 2, 80, 3],
  [6, 5, 1, 112, 3],
  [6, 5, 2, 192, 4],
  [6, 3, 1, 320, 1],
];

/** EfficientNet-B0: 5.29 M parameters, 0.39 GMACs at 224×224. */
export function efficientnetB0(b: NetBuilder, size = 224, classes = 1000): Ref {
  const input = b.input([size, size, 3], 'input');
  let x = act(b, bn(b, conv(b, input, 'stem.conv', 32, 3, 2), 'stem.bn'), 'stem.swish', 'swish');
  let cin = 32;
  STAGES.forEach(([t, k, s, cout, n], stage) => {
    for (let i = 0; i < n; i++) {
      const p = `blocks.${stage}.${i}`;
      const stride = i === 0 ? s : 1;
      const mid = cin * t;
      let y = x;
      if (t !== 1) y = act(b, bn(b, conv(b, y, `${p}.expand`, mid, 1), `${p}.expand_bn`), `${p}.expand_swish`, 'swish');
      y = act(b, bn(b, dwconv(b, y, `${p}.dw`, k, stride), `${p}.dw_bn`), `${p}.dw_swish`, 'swish');
      // Squeeze-and-excitation with a reduction to a quarter of the block's input channels.
      let se = b.apply(tf.layers.globalAveragePooling2d({ name: `${p}.se_pool` }), y);
      se = b.apply(tf.layers.reshape({ name: `${p}.se_reshape`, targetShape: [1, 1, mid] }), se);
      se = conv(b, se, `${p}.se_reduce`, Math.max(1, Math.floor(cin / 4)), 1, 1, { bias: true, activation: 'swish' });
      se = conv(b, se, `${p}.se_expand`, mid, 1, 1, { bias: true, activation: 'sigmoid' });
      y = b.apply(tf.layers.multiply({ name: `${p}.se_scale` }), [y, se]);
      y = bn(b, conv(b, y, `${p}.project`, cout, 1), `${p}.project_bn`);
      x = stride === 1 && cin === cout ? b.apply(tf.layers.add({ name: `${p}.add` }), [x, y]) : y;
      cin = cout;
    }
  });
  x = act(b, bn(b, conv(b, x, 'head.conv', 1280, 1), 'head.bn'), 'head.swish', 'swish');
  return classifier(b, x, classes, 0.2);
}
