/**
 * Small byte- and bit-level writers and readers for codec headers and side information.
 * Headers are tiny, so these favour clarity over speed; the hot paths (rANS, bit packing)
 * do not use them.
 */

/** Growable little-endian byte writer with LEB128 varints and float32 fields. */
export class ByteWriter {
  private buf = new Uint8Array(64);
  private n = 0;

  private ensure(extra: number): void {
    if (this.n + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.n + extra) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.n));
    this.buf = b;
  }

  /** Number of bytes written so far. */
  get length(): number { return this.n; }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.n++] = v & 0xff;
    return this;
  }

  /** Unsigned LEB128 varint (values up to 2^53). */
  varint(v: number): this {
    if (!Number.isInteger(v) || v < 0) throw new Error(`varint: ${v} is not a non-negative integer`);
    while (v >= 0x80) {
      this.u8((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    return this.u8(v);
  }

  /** Zig-zag signed varint. */
  svarint(v: number): this {
    return this.varint(v >= 0 ? 2 * v : -2 * v - 1);
  }

  f32(v: number): this {
    this.ensure(4);
    new DataView(this.buf.buffer, this.buf.byteOffset).setFloat32(this.n, v, true);
    this.n += 4;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
    return this;
  }

  /** A copy of the bytes written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.n);
  }
}

/** Reader matching ByteWriter; every read checks bounds so corrupt input fails loudly. */
export class ByteReader {
  pos: number;
  private readonly view: DataView;

  constructor(readonly buf: Uint8Array, offset = 0) {
    this.pos = offset;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private need(k: number): void {
    if (this.pos + k > this.buf.length) throw new Error(`truncated stream: need ${k} byte(s) at offset ${this.pos}`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  varint(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 0x80;
    }
    throw new Error('varint longer than 8 bytes');
  }

  svarint(): number {
    const u = this.varint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  f32(): number {
    this.need(4);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  bytes(k: number): Uint8Array {
    this.need(k);
    const b = this.buf.subarray(this.pos, this.pos + k);
    this.pos += k;
    return b;
  }

  rest(): Uint8Array {
    return this.buf.subarray(this.pos);
  }
}

/** MSB-first bit writer (for side information such as histograms). */
export class BitWriter {
  private readonly out = new ByteWriter();
  private acc = 0;
  private nbits = 0;

  /** Total bits written. */
  bitLength = 0;

  /** Writes the `n` low bits of `v` (n <= 24). */
  bits(v: number, n: number): void {
    for (let i = n - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((v >>> i) & 1);
      if (++this.nbits === 8) {
        this.out.u8(this.acc);
        this.acc = 0;
        this.nbits = 0;
      }
    }
    this.bitLength += n;
  }

  /** Exp-Golomb code of order k for v >= 0. */
  expGolomb(v: number, k: number): void {
    const u = v + (1 << k);
    const len = 31 - Math.clz32(u); // index of the leading one
    this.bits(0, len - k);
    this.bits(u, len + 1);
  }

  /** Pads to a byte boundary with zeros and returns the bytes. */
  finish(): Uint8Array {
    if (this.nbits > 0) this.out.u8(this.acc << (8 - this.nbits));
    this.acc = 0;
    this.nbits = 0;
    return this.out.finish();
  }
}

/** Bits needed by BitWriter.expGolomb(v, k). */
export function expGolombBits(v: number, k: number): number {
  const len = 31 - Math.clz32(v + (1 << k));
  return 2 * len - k + 1;
}

/** MSB-first bit reader matching BitWriter. */
export class BitReader {
  private bitPos: number;

  constructor(private readonly buf: Uint8Array, byteOffset = 0) {
    this.bitPos = byteOffset * 8;
  }

  /** Reads `n` bits (n <= 24). */
  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.bitPos >>> 3;
      if (byte >= this.buf.length) throw new Error('truncated bit stream');
      v = (v << 1) | ((this.buf[byte] >>> (7 - (this.bitPos & 7))) & 1);
      this.bitPos++;
    }
    return v;
  }

  expGolomb(k: number): number {
    let zeros = 0;
    while (this.bits(1) === 0) {
      if (++zeros > 24) throw new Error('corrupt Exp-Golomb code');
    }
    const rest = zeros + k;
    const u = (1 << rest) | this.bits(rest);
    return u - (1 << k);
  }

  /** Byte offset just past the last bit read (rounded up). */
  get byteEnd(): number {
    return (this.bitPos + 7) >>> 3;
  }
}
