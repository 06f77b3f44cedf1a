/**
 * How one drain reads the prefilled topics.
 *
 * Each input topic is read from offset 0 on its own, so the order the prefill produced them in does not
 * decide which one the pipeline gets to first: kafkajs fetches both at once and how far each gets depends on
 * record sizes and timing. A transaction read before its customer's CDC profile is counted `no_profile`
 * and not scored (9.4k–30.7k of 200k records between identical runs), so per-record costs moved from run to
 * run. `cdc-first` fixes the order instead: one group reads the CDC topic to its end (its transactions
 * offsets set to the end before it starts), then a second group reads the transactions (CDC offsets at the
 * end), with the same Redis key prefix, so every transaction finds the profile state the whole CDC topic
 * leaves. Both stages are timed and their costs added. `mixed` is the production shape: one group, both topics.
 */
export type DrainOrder = 'cdc-first' | 'mixed';

export interface DrainStage {
  readonly name: 'cdc' | 'events' | 'all';
  /** Consumer group of the stage. */
  readonly group: string;
  /** Topics the stage reads from offset 0. */
  readonly read: readonly string[];
  /** Topics whose offsets are set to their end for the group before it starts (it reads nothing of them). */
  readonly skip: readonly string[];
  /** Stop once this many records of `read` are committed (undefined: to the end). */
  readonly stopAfter: number | undefined;
}

export interface StageInputs {
  readonly cdc: string;
  readonly events: string;
  readonly cdcRecords: number;
  readonly eventRecords: number;
}

/**
 * The stages of a drain. The last stage's group is `group` itself, so after a cdc-first drain `group` has
 * committed the end of both topics (what the latency phase expects of the main drain). A record cap is split
 * between the stages in proportion to the topics' sizes.
 */
export function drainStages(
  order: DrainOrder,
  group: string,
  inputs: StageInputs,
  stopAfter?: number,
): DrainStage[] {
  if (order === 'mixed')
    return [{ name: 'all', group, read: [inputs.cdc, inputs.events], skip: [], stopAfter }];
  const total = inputs.cdcRecords + inputs.eventRecords;
  let cdcCap: number | undefined;
  let eventsCap: number | undefined;
  if (stopAfter !== undefined && stopAfter < total) {
    cdcCap = Math.round((stopAfter * inputs.cdcRecords) / Math.max(1, total));
    eventsCap = stopAfter - cdcCap;
  }
  return [
    { name: 'cdc', group: `${group}.cdc`, read: [inputs.cdc], skip: [inputs.events], stopAfter: cdcCap },
    { name: 'events', group, read: [inputs.events], skip: [inputs.cdc], stopAfter: eventsCap },
  ];
}
