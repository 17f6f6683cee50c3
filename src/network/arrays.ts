/** A typed array of the same kind with `size` elements, `a`'s at the start (pools that grow). */
export function grow<T extends Int32Array | Float64Array | Uint8Array>(a: T, size: number): T {
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a);
  return b;
}
