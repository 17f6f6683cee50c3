import { initBackend, tf } from '../../src/model/backend';
import { GDN, IGDN, LatentQuantizer, latentSymbols } from '../../src/model/layers';

/** Direct per-pixel evaluation of GDN: y_c = x_c / sqrt(beta_c + sum_j gamma_cj x_j^2). */
function gdnReference(x: Float32Array, beta: number[], gamma: number[][], inverse: boolean): number[] {
  const c = beta.length;
  const out: number[] = [];
  for (let p = 0; p < x.length / c; p++) {
    for (let i = 0; i < c; i++) {
      let s = beta[i];
      for (let j = 0; j < c; j++) s += gamma[i][j] * x[p * c + j] ** 2;
      out.push(inverse ? x[p * c + i] * Math.sqrt(s) : x[p * c + i] / Math.sqrt(s));
    }
  }
  return out;
}

describe('custom layers', () => {
  beforeAll(async () => {
    await initBackend();
  });

  test.each([false, true])('GDN (inverse=%s) matches the formula with a non-symmetric gamma', (inverse) => {
    const beta = [1.0, 0.5, 2.0];
    const gamma = [
      [0.1, 0.7, 0.0],
      [0.0, 0.2, 0.3],
      [0.4, 0.0, 0.05],
    ];
    const layer = inverse ? new IGDN({ channels: 3 }) : new GDN({ channels: 3 });
    const xs = Float32Array.from({ length: 2 * 2 * 2 * 3 }, (_, i) => Math.sin(i * 1.3) * 2);
    const x = tf.tensor4d(xs, [2, 2, 2, 3]);
    layer.apply(x); // builds the weights
    layer.setWeights([tf.tensor1d(beta), tf.tensor2d(gamma)]);
    const y = (layer.apply(x) as tf.Tensor).dataSync();
    const want = gdnReference(xs, beta, gamma, inverse);
    want.forEach((w, i) => expect(y[i]).toBeCloseTo(w, 5));
  });

  test('LatentQuantizer rounds around per-channel medians, half to even, and symbols recover the integers', () => {
    const q = new LatentQuantizer({ channels: 2 });
    const x = tf.tensor4d([0.3, 1.2, 1.49, 0.71, -0.9, 3.2, 2.5, 0.2], [1, 2, 2, 2]);
    q.apply(x);
    q.setWeights([tf.tensor1d([0.0, 0.2])]);
    const y = Array.from((q.apply(x) as tf.Tensor).dataSync());
    // channel 0 (median 0): 0.3->0, 1.49->1, -0.9->-1, 2.5->2 (half to even)
    // channel 1 (median 0.2): 1.2->1.2, 0.71->0.2 (0.51 rounds to 1 -> 1.2), 3.2->3.2, 0.2->0.2
    const want = [0, 1.2, 1, 1.2, -1, 3.2, 2, 0.2];
    want.forEach((w, i) => expect(y[i]).toBeCloseTo(w, 6));
    const sym = Array.from(latentSymbols(tf.tensor4d(y, [1, 2, 2, 2]), [0.0, 0.2]).dataSync());
    expect(sym).toEqual([0, 1, 1, 1, -1, 3, 2, 0]);
  });

  test('layers serialise their channel count and are registered by class name', () => {
    for (const cls of [GDN, IGDN, LatentQuantizer]) {
      const layer = new cls({ channels: 4, name: `x_${cls.className}` });
      expect(layer.getClassName()).toBe(cls.className);
      expect(layer.getConfig().channels).toBe(4);
      const back = tf.serialization.SerializationMap.getMap().classNameMap[cls.className];
      expect(back).toBeDefined();
    }
    expect(() => new GDN({ channels: 0 })).toThrow(/channels/);
  });
});
