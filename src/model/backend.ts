import * as path from 'path';
import * as tf from '@tensorflow/tfjs';

/** Which tfjs backend runs the models; recorded in every result. */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

let chosen: Promise<BackendName> | undefined;

async function choose(preferred?: BackendName): Promise<BackendName> {
  const order: BackendName[] = preferred ? [preferred] : ['tensorflow', 'wasm', 'cpu'];
  for (const name of order) {
    try {
      if (name === 'tensorflow') {
        // Optional dependency: its install script needs a download that may not be possible.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require('@tensorflow/tfjs-node');
      } else if (name === 'wasm') {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const wasm = require('@tensorflow/tfjs-backend-wasm');
        const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
        wasm.setWasmPaths(path.join(dir, 'dist') + path.sep);
      }
      if (await tf.setBackend(name)) {
        await tf.ready();
        return name;
      }
    } catch {
      // fall through to the next backend
    }
  }
  throw new Error(`no tfjs backend could be initialised (tried ${order.join(', ')})`);
}

/**
 * Initialises tfjs once with the best backend that loads: tfjs-node, then wasm, then the
 * pure-JS cpu backend. SPLITSIM_BACKEND=cpu|wasm|tensorflow forces one.
 */
export function initBackend(): Promise<BackendName> {
  if (!chosen) {
    const forced = process.env.SPLITSIM_BACKEND as BackendName | undefined;
    chosen = choose(forced && ['tensorflow', 'wasm', 'cpu'].includes(forced) ? forced : undefined);
  }
  return chosen;
}

export { tf };
