/**
 * The wire format of live split inference (`splitsim serve`, `splitsim device`): HTTP/1.1,
 * `POST /v1/infer` with `content-type: application/octet-stream` and a binary body made of a
 * 16-byte header and the codec's bitstream; the reply is JSON. Version 1 of the header
 * (little-endian):
 *
 *   offset  size  field
 *   0       4     magic "SPLT"
 *   4       1     version (1)
 *   5       1     flags (0; reserved)
 *   6       2     pipeline id (index into GET /v1/pipelines)
 *   8       4     sample id (test-set index, 0xffffffff = none; logged and echoed)
 *   12      4     payload length in bytes (must equal the body length less 16)
 *   16      n     payload: the bitstream the pipeline's codec wrote
 */

/** First four bytes of every request body. */
export const MAGIC = 'SPLT';
/** The header version this code writes and reads. */
export const VERSION = 1;
/** Size of the request header. */
export const HEADER_BYTES = 16;
/** Sample id meaning "no sample". */
export const NO_SAMPLE = 0xffffffff;
/** Path of the inference endpoint. */
export const INFER_PATH = '/v1/infer';
/** Reply header a link shaper sets on the reply it makes up when it lost the request or its reply. */
export const DROPPED_HEADER = 'x-splitsim-dropped';

/** A parsed request header. */
export interface RequestHeader {
  version: number;
  pipeline: number;
  sample: number;
  payloadBytes: number;
}

/** The server's reply to a request it ran (times are epoch ms on the server's clock). */
export interface InferReply {
  pipeline: string;
  sample: number | null;
  class: number;
  /** Softmax probability of the class. */
  score: number;
  /** Size of the batch the request ran in. */
  batch: number;
  /** Body fully received; batch started on a worker; batch done. */
  receivedMs: number;
  startMs: number;
  endMs: number;
  /** This request's decode and its batch's tail, ms. */
  decodeMs: number;
  tailMs: number;
}

/** Builds a request body: header + payload. */
export function encodeRequest(pipeline: number, sample: number | undefined, payload: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  b.write(MAGIC, 0, 'latin1');
  b.writeUInt8(VERSION, 4);
  b.writeUInt8(0, 5);
  b.writeUInt16LE(pipeline, 6);
  b.writeUInt32LE(sample ?? NO_SAMPLE, 8);
  b.writeUInt32LE(payload.length, 12);
  b.set(payload, HEADER_BYTES);
  return b;
}

/** Why a body is not a valid request (the reply's error code and message). */
export class ProtocolError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** Parses and checks a request body's header; throws ProtocolError naming what is wrong. */
export function parseRequest(body: Uint8Array, pipelines: number): { header: RequestHeader; payload: Uint8Array } {
  if (body.length < HEADER_BYTES) throw new ProtocolError('truncated', `body of ${body.length} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (b.toString('latin1', 0, 4) !== MAGIC) throw new ProtocolError('bad_magic', `body does not start with "${MAGIC}" (not a splitsim request)`);
  const version = b.readUInt8(4);
  if (version !== VERSION) throw new ProtocolError('bad_version', `header version ${version}; this server speaks version ${VERSION}`);
  if (b.readUInt8(5) !== 0) throw new ProtocolError('bad_flags', `header flags ${b.readUInt8(5)}; version ${VERSION} defines none (0)`);
  const pipeline = b.readUInt16LE(6);
  if (pipeline >= pipelines) throw new ProtocolError('bad_pipeline', `pipeline id ${pipeline}; this server serves ids 0..${pipelines - 1} (GET /v1/pipelines)`);
  const sample = b.readUInt32LE(8);
  const payloadBytes = b.readUInt32LE(12);
  if (payloadBytes !== body.length - HEADER_BYTES) {
    throw new ProtocolError(payloadBytes > body.length - HEADER_BYTES ? 'truncated' : 'bad_length', `header says ${payloadBytes} payload bytes, the body holds ${body.length - HEADER_BYTES}`);
  }
  return { header: { version, pipeline, sample, payloadBytes }, payload: body.subarray(HEADER_BYTES) };
}
