/**
 * Splits items, in order, into consecutive runs of at most `maxBytes` by `sizeOf` and at most `maxItems`
 * items each (an item larger than maxBytes runs alone). What one window holds, what one produce call or
 * one Redis pipeline carries.
 */
export function runsOf<T>(
  items: readonly T[],
  sizeOf: (item: T) => number,
  maxBytes: number,
  maxItems = Infinity,
): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && (current.length >= maxItems || bytes + size > maxBytes)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}
