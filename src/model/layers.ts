import { tf } from './backend';

type Kwargs = Record<string, unknown>;

/** Shared config of the custom layers: the channel count fixes the weight shapes. */
export interface ChannelLayerArgs {
  channels: number;
  name?: string;
  trainable?: boolean;
  dtype?: tf.DataType;
  inputShape?: number[];
  batchInputShape?: number[];
}

function single(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0] : inputs;
}

function requireChannels(args: ChannelLayerArgs, cls: string): number {
  const c = args.channels;
  if (!Number.isInteger(c) || c <= 0) throw new Error(`${cls}: config 'channels' must be a positive integer, got ${String(c)}`);
  return c;
}

/**
 * Generalized divisive normalization (Ballé et al.): y_c = x_c / sqrt(beta_c + sum_j gamma_cj x_j^2),
 * NHWC. Weights are the effective (already positive) beta [C] and gamma [C,C] exported by training.
 */
export class GDN extends tf.layers.Layer {
  static className = 'GDN';
  readonly channels: number;
  protected readonly inverse: boolean = false;
  private beta?: tf.LayerVariable;
  private gamma?: tf.LayerVariable;

  constructor(args: ChannelLayerArgs) {
    super(args);
    this.channels = requireChannels(args, (this.constructor as typeof GDN).className);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const c = shape[shape.length - 1];
    if (c !== this.channels) {
      throw new Error(`${this.name}: input has ${String(c)} channels, layer expects ${this.channels}`);
    }
    this.beta = this.addWeight('beta', [c], 'float32', tf.initializers.ones());
    this.gamma = this.addWeight('gamma', [c, c], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      const c = this.channels;
      // gamma[c][j] weighs input channel j for output c: as a 1x1 conv kernel [1,1,in=j,out=c]
      const kernel = tf.reshape(tf.transpose(this.gamma!.read()), [1, 1, c, c]) as tf.Tensor4D;
      const norm = tf.sqrt(tf.add(tf.conv2d(tf.square(x) as tf.Tensor4D, kernel, 1, 'valid'), this.beta!.read()));
      return this.inverse ? tf.mul(x, norm) : tf.div(x, norm);
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), channels: this.channels };
  }
}

/** Inverse GDN (decoder side): y_c = x_c * sqrt(beta_c + sum_j gamma_cj x_j^2). */
export class IGDN extends GDN {
  static override className = 'IGDN';
  protected override readonly inverse: boolean = true;
}

/**
 * The students' bottleneck: y = round(x - median_c) + median_c per channel (round half to even,
 * as torch.round). Its output is the dequantized latent; the integer symbols an entropy coder
 * sends are round(y - median_c) (see latentSymbols).
 */
export class LatentQuantizer extends tf.layers.Layer {
  static className = 'LatentQuantizer';
  readonly channels: number;
  private medians?: tf.LayerVariable;

  constructor(args: ChannelLayerArgs) {
    super(args);
    this.channels = requireChannels(args, LatentQuantizer.className);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const c = shape[shape.length - 1];
    if (c !== this.channels) {
      throw new Error(`${this.name}: input has ${String(c)} channels, layer expects ${this.channels}`);
    }
    this.medians = this.addWeight('medians', [c], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const m = this.medians!.read();
      return tf.add(tf.round(tf.sub(single(inputs), m)), m);
    });
  }

  /** Median per channel (the quantization offsets). */
  mediansValues(): Float32Array {
    return this.medians!.read().dataSync() as Float32Array;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), channels: this.channels };
  }
}

/** Integer symbols round(y - median_c) of a dequantized NHWC latent y (int32). */
export function latentSymbols(latent: tf.Tensor, medians: ArrayLike<number>): tf.Tensor {
  return tf.tidy(() => tf.cast(tf.round(tf.sub(latent, tf.tensor1d(Array.from(medians)))), 'int32'));
}

let registered = false;

/** Registers GDN, IGDN and LatentQuantizer with tfjs serialization (idempotent). */
export function registerCustomLayers(): void {
  if (registered) return;
  tf.serialization.registerClass(GDN);
  tf.serialization.registerClass(IGDN);
  tf.serialization.registerClass(LatentQuantizer);
  registered = true;
}

registerCustomLayers();
