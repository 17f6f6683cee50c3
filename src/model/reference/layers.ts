/** Small helpers shared by the reference architectures (layer naming follows torchvision). */
import { tf } from '../backend';
import type { NetBuilder, Ref } from './builder';

/** Conv2D without bias (a batch norm follows), 'same' padding. */
export function conv(
  b: NetBuilder,
  x: Ref,
  name: string,
  filters: number,
  kernel: number,
  stride = 1,
  opts: { bias?: boolean; activation?: 'relu' | 'sigmoid' | 'swish' | 'linear' } = {},
): Ref {
  return b.apply(
    tf.layers.conv2d({
      name,
      filters,
      kernelSize: kernel,
      strides: stride,
      padding: 'same',
      useBias: opts.bias ?? false,
      activation: opts.activation ?? 'linear',
    }),
    x,
  );
}

/** Depthwise 'same' convolution without bias. */
export function dwconv(b: NetBuilder, x: Ref, name: string, kernel: number, stride = 1): Ref {
  return b.apply(
    tf.layers.depthwiseConv2d({ name, kernelSize: kernel, strides: stride, padding: 'same', useBias: false }),
    x,
  );
}

/** Batch normalisation with the PyTorch epsilon. */
export function bn(b: NetBuilder, x: Ref, name: string): Ref {
  return b.apply(tf.layers.batchNormalization({ name, epsilon: 1e-5, momentum: 0.9 }), x);
}

/** ReLU, or ReLU6 when max is given. */
export function relu(b: NetBuilder, x: Ref, name: string, max?: number): Ref {
  return b.apply(tf.layers.reLU({ name, ...(max !== undefined ? { maxValue: max } : {}) }), x);
}

/** An Activation layer (e.g. swish). */
export function act(b: NetBuilder, x: Ref, name: string, activation: 'swish' | 'sigmoid' | 'relu'): Ref {
  return b.apply(tf.layers.activation({ name, activation }), x);
}

/** Global average pooling followed by the classifier. */
export function classifier(b: NetBuilder, x: Ref, classes: number, dropout = 0): Ref {
  let y = b.apply(tf.layers.globalAveragePooling2d({ name: 'avgpool' }), x);
  if (dropout > 0) y = b.apply(tf.layers.dropout({ name: 'dropout', rate: dropout }), y);
  return b.apply(tf.layers.dense({ name: 'fc', units: classes }), y);
}
