/**
 * Splits items, in order, into consecutive runs of at most `maxBytes` each by `sizeOf` (an item larger than
 * that runs alone). Used for what one send may carry: a produce call, a Redis pipeline.
 */
export function runsOf<T>(items: readonly T[], sizeOf: (item: T) => number, maxBytes: number): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && bytes + size > maxBytes) {
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
