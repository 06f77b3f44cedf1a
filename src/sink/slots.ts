/**
 * Where fences and script calls go on Redis Cluster (docs/redis.md, "Redis Cluster").
 *
 * A Lua script may only touch keys of one hash slot, and every write the sink makes checks a fence (the
 * epoch, a job's run) in the same call. So on a cluster each fence is kept once per slot: the copy for
 * slot s is `<fence>{<tag s>}`, where the tag hashes to s. A copy moves with its slot when the cluster is
 * resharded, and a node that lost its data lost exactly the copies of the slots it served, so its writes
 * are refused. On a single Redis there is one key per fence (the fence itself) and calls are not grouped.
 */
import calculateSlot from 'cluster-key-slot';

export const SLOT_COUNT = 16384;

let tags: readonly string[] | undefined;

/** For every slot s, a short hash tag whose slot is s (the first found counting up in base 36). */
export function slotTags(): readonly string[] {
  if (tags !== undefined) return tags;
  const found: string[] = new Array<string>(SLOT_COUNT);
  let missing = SLOT_COUNT;
  for (let n = 0; missing > 0; n += 1) {
    const tag = n.toString(36);
    const s = calculateSlot(tag);
    if (found[s] === undefined) {
      found[s] = tag;
      missing -= 1;
    }
  }
  tags = found;
  return tags;
}

/** The hash slot of a key (its `{tag}` when it has one). */
export function slotOf(key: string): number {
  return calculateSlot(key);
}

/** Fence keys and call grouping for a single Redis (`cluster` false) or a Redis Cluster. */
export class FenceLayout {
  readonly cluster: boolean;

  constructor(cluster: boolean) {
    this.cluster = cluster;
  }

  /** The key of `fence` that a script touching `key` checks: the fence itself, or its copy in key's slot. */
  at(fence: string, key: string): string {
    return this.cluster ? this.copy(fence, slotOf(key)) : fence;
  }

  /** The copy of `fence` in slot s (cluster only). */
  copy(fence: string, slot: number): string {
    return `${fence}{${slotTags()[slot] as string}}`;
  }

  /** Every key a fence is kept at: the fence, or its 16,384 copies. */
  keysOf(fence: string): string[] {
    if (!this.cluster) return [fence];
    return slotTags().map((t) => `${fence}{${t}}`);
  }

  /**
   * Indices of `keys` in groups of at most `size` that one script call may cover: in order on a single
   * Redis; on a cluster, keys of one slot only (in order within a slot).
   */
  groups(keys: readonly string[], size: number): number[][] {
    const out: number[][] = [];
    if (!this.cluster) {
      for (let i = 0; i < keys.length; i += size)
        out.push(Array.from({ length: Math.min(size, keys.length - i) }, (_, j) => i + j));
      return out;
    }
    const bySlot = new Map<number, number[]>();
    keys.forEach((k, i) => {
      const s = slotOf(k);
      const g = bySlot.get(s);
      if (g === undefined) bySlot.set(s, [i]);
      else g.push(i);
    });
    for (const g of bySlot.values()) for (let i = 0; i < g.length; i += size) out.push(g.slice(i, i + size));
    return out;
  }
}
