/**
 * Jest's node environment with the host's typed-array constructors. onnxruntime-node's native
 * binding creates its output tensors' arrays in the host realm; in jest's default sandbox they
 * would fail onnxruntime-common's `instanceof Float32Array` check, and so would every
 * measurement on ONNX Runtime run inside a test.
 */
const { TestEnvironment } = require('jest-environment-node');

const SHARED = ['ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
  'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array'];

class NodeEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const k of SHARED) if (globalThis[k]) this.global[k] = globalThis[k];
  }
}

module.exports = NodeEnvironment;
