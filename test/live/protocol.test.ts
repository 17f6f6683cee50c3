import { encodeRequest, HEADER_BYTES, NO_SAMPLE, parseRequest, ProtocolError } from '../../src/live/protocol';

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ProtocolError) return e.code;
    throw e;
  }
  return 'ok';
}

describe('live request format v1', () => {
  test('a request round-trips: header fields and payload', () => {
    const payload = Uint8Array.from([9, 8, 7, 6, 5]);
    const b = encodeRequest(3, 4242, payload);
    expect(b.length).toBe(HEADER_BYTES + 5);
    expect(b.subarray(0, 4).toString('latin1')).toBe('SPLT');
    const { header, payload: p } = parseRequest(b, 4);
    expect(header).toEqual({ version: 1, pipeline: 3, sample: 4242, payloadBytes: 5 });
    expect(Array.from(p)).toEqual([9, 8, 7, 6, 5]);
    expect(parseRequest(encodeRequest(0, undefined, new Uint8Array(0)), 1).header.sample).toBe(NO_SAMPLE);
  });

  test('each malformed header is named', () => {
    const good = encodeRequest(1, 7, new Uint8Array(10));
    expect(code(() => parseRequest(good.subarray(0, 10), 2))).toBe('truncated');
    expect(code(() => parseRequest(good.subarray(0, 20), 2))).toBe('truncated');
    const magic = Buffer.from(good); magic[0] = 0x58;
    expect(code(() => parseRequest(magic, 2))).toBe('bad_magic');
    const version = Buffer.from(good); version[4] = 2;
    expect(code(() => parseRequest(version, 2))).toBe('bad_version');
    const flags = Buffer.from(good); flags[5] = 1;
    expect(code(() => parseRequest(flags, 2))).toBe('bad_flags');
    expect(code(() => parseRequest(good, 1))).toBe('bad_pipeline');
    expect(code(() => parseRequest(Buffer.concat([good, Buffer.from([1])]), 2))).toBe('bad_length');
    expect(code(() => parseRequest(good, 2))).toBe('ok');
  });
});
