/**
 * The plan of a window, pure: from the entities' current states and the window's coalesced records, what
 * each entity gets — a score, a deletion, a state-only write (no profile yet), a re-emission of the stored
 * prediction (retry of a window whose transaction never committed), or nothing — and the accounting of
 * every record. No I/O: the caller loads the states and carries the plan out.
 */
import { applyWork, triggerText } from '../sink/index.js';
import type { EntityState, StateChange, StateFields } from '../sink/index.js';
import type { EntityWork } from '../window/index.js';

export type Action = 'score' | 'delete' | 'state' | 'no_profile' | 'reemit' | 'unchanged';

export interface EntityPlan {
  readonly work: EntityWork;
  readonly base: EntityState;
  readonly change: StateChange;
  /** The state to write (the base when the window changed nothing but a prediction is still owed). */
  readonly state: EntityState;
  readonly action: Action;
}

/**
 * Decides one entity. A prediction is owed when the state is newer than the stored prediction: the window
 * changed it, or an earlier attempt stored state without its prediction. A re-emission is only a candidate
 * here: the caller checks the stored prediction itself and the broker's committed offset first.
 */
export function planEntity(
  work: EntityWork,
  base: EntityState,
  fields: StateFields,
  committedMarker: bigint,
): EntityPlan {
  const change = applyWork(base, work, fields);
  const state = change.next ?? base;
  let action: Action;
  if (change.next !== null || base.sv > base.pv) {
    if (state.deleted) action = 'delete';
    else if (state.profile !== null) action = 'score';
    else action = change.next !== null ? 'state' : 'no_profile';
  } else if (base.trigger !== '' && triggerInWindow(base.trigger, work, committedMarker)) {
    action = 'reemit';
  } else action = 'unchanged';
  return { work, base, change, state, action };
}

/** The stored prediction came from a record of this window that is past the committed offset. */
export function triggerInWindow(trigger: string, work: EntityWork, committedMarker: bigint): boolean {
  for (const r of work.records) {
    if (triggerText(r) === trigger) return BigInt(r.offset) > committedMarker;
  }
  return false;
}

export interface PlanCounts {
  coalesced: number;
  scored: number;
  deleted: number;
  unchanged: number;
  no_profile: number;
  duplicates: number;
}

/**
 * Where each entity's records go in the audit: one record per entity stands for the entity (scored,
 * deleted, unchanged or no_profile), the others of the same entity in the window are coalesced into it.
 */
export function countPlans(plans: readonly EntityPlan[]): PlanCounts {
  const c: PlanCounts = { coalesced: 0, scored: 0, deleted: 0, unchanged: 0, no_profile: 0, duplicates: 0 };
  for (const p of plans) {
    c.coalesced += p.work.records.length - 1;
    c.duplicates += p.work.duplicateCdc + p.change.duplicates;
    switch (p.action) {
      case 'score':
      case 'reemit':
        c.scored += 1;
        break;
      case 'delete':
        c.deleted += 1;
        break;
      case 'state':
      case 'no_profile':
        c.no_profile += 1;
        break;
      case 'unchanged':
        c.unchanged += 1;
        break;
    }
  }
  return c;
}
