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
  return [...runsIn(items, sizeOf, maxBytes, maxItems)];
}

/**
 * The runs of runsOf, each given as soon as it is complete: items are taken from `items` one at a time (a
 * run is complete when the next item does not fit, or the items ended), so a lazily made sequence can be
 * sent run by run while the rest is still being made.
 */
export function* runsIn<T>(
  items: Iterable<T>,
  sizeOf: (item: T) => number,
  maxBytes: number,
  maxItems = Infinity,
): Generator<T[]> {
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && (current.length >= maxItems || bytes + size > maxBytes)) {
      yield current;
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) yield current;
}
