/** VGG-16 (Simonyan & Zisserman 2015), configuration D without batch norm. */
import { tf } from '../backend';
import type { NetBuilder, Ref } from './builder';
import { conv } from './layers';

const CONFIG: Array<number | 'M'> = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'];

/** VGG-16: 138.36 M parameters, 15.47 GMACs at 224×224. */
export function vgg16(b: NetBuilder, size = 224, classes = 1000): Ref {
  let x = b.input([size, size, 3], 'input');
  let block = 1;
  let k = 1;
  for (const v of CONFIG) {
    if (v === 'M') {
      x = b.apply(tf.layers.maxPooling2d({ name: `block${block}_pool`, poolSize: 2, strides: 2 }), x);
      block++;
      k = 1;
    } else {
      x = conv(b, x, `block${block}_conv${k++}`, v, 3, 1, { bias: true, activation: 'relu' });
    }
  }
  x = b.apply(tf.layers.flatten({ name: 'flatten' }), x);
  x = b.apply(tf.layers.dense({ name: 'fc1', units: 4096, activation: 'relu' }), x);
  x = b.apply(tf.layers.dropout({ name: 'drop1', rate: 0.5 }), x);
  x = b.apply(tf.layers.dense({ name: 'fc2', units: 4096, activation: 'relu' }), x);
  x = b.apply(tf.layers.dropout({ name: 'drop2', rate: 0.5 }), x);
  return b.apply(tf.layers.dense({ name: 'predictions', units: classes }), x);
}
