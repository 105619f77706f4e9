/**
 * jest's node environment, with the typed-array and buffer constructors of the real Node realm (jest-environment-node already
 * does this for Uint8Array). onnxruntime's Tensor checks `data instanceof Float32Array`; with jest's per-test realm the
 * Float32Array our code creates is not the one onnxruntime-node's native binding accepts, so ONNX models would fail only
 * under jest. Nothing else changes: same globals, same isolation of modules.
 */
const { TestEnvironment } = require('jest-environment-node');

const SHARED = ['ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Int8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
  'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array'];

class FaceMatchEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = FaceMatchEnvironment;
