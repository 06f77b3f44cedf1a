/**
 * Whether a model version can take over from the running one without a restart. What the running
 * instance cannot change on the fly is the state it keeps (the decoders materialise only the profile
 * columns the first spec read; events keep only its fields, for its lookback) and the meaning of what it
 * publishes. So a candidate is compatible when:
 *  - it is the same model (name);
 *  - everything its feature spec reads is in the kept state: profile columns, event fields, lookback (the
 *    spec's name and version may differ: a profile-only spec can follow a full one, not the reverse);
 *  - its input width is its spec's (loadModel checks the ONNX signature against it);
 *  - its output semantics are the same: what the score means and its valid range (tiers may move);
 *  - its model.onnx has the sha256 the promotion recorded (the file was not swapped since).
 * Standardisation parameters, weights and thresholds may all change: that is what a retrained version is.
 */
import { DAY_MS, eventNeeds, profileFields } from '../features/index.js';
import type { FeatureSpec } from '../features/index.js';
import type { LoadedModel } from '../models/index.js';
import type { StateFields } from '../sink/index.js';

/** Events are kept at least this long, whatever the spec reads (a later version may look further back). */
export const MIN_EVENT_DAYS = 30;

/** What an instance started with this spec keeps of each entity: the decoders and the state follow it. */
export function keptStateFor(spec: FeatureSpec): StateFields {
  const needs = eventNeeds(spec, MIN_EVENT_DAYS);
  return { profile: profileFields(spec), event: needs.fields, lookbackMs: needs.lookbackDays * DAY_MS };
}

export function compatibilityProblems(
  running: LoadedModel,
  candidate: LoadedModel,
  kept: StateFields,
  expectedSha256?: string,
): string[] {
  const problems: string[] = [];
  const a = running.manifest;
  const b = candidate.manifest;
  if (a.name !== b.name) problems.push(`model name ${b.name} is not the running ${a.name}`);
  const profile = profileFields(candidate.featureSpec).filter((f) => !kept.profile.includes(f));
  if (profile.length > 0)
    problems.push(`it reads profile columns the running state does not keep: ${profile.join(', ')}`);
  const needs = eventNeeds(candidate.featureSpec);
  const fields = needs.fields.filter((f) => !kept.event.includes(f));
  if (fields.length > 0)
    problems.push(`it reads event fields the running state does not keep: ${fields.join(', ')}`);
  const keptDays = kept.lookbackMs / DAY_MS;
  if (needs.lookbackDays > keptDays)
    problems.push(`it needs ${needs.lookbackDays} days of events, the running state keeps ${keptDays}`);
  if (candidate.width !== candidate.featureSpec.features.length)
    problems.push(
      `input width ${candidate.width} is not its spec's ${candidate.featureSpec.features.length}`,
    );
  if (a.semantics.score_meaning !== b.semantics.score_meaning)
    problems.push(
      `its score means "${b.semantics.score_meaning}", the running one's "${a.semantics.score_meaning}"`,
    );
  const [alo, ahi] = a.semantics.valid_range;
  const [blo, bhi] = b.semantics.valid_range;
  if (alo !== blo || ahi !== bhi)
    problems.push(`its valid range [${blo}, ${bhi}] is not the running [${alo}, ${ahi}]`);
  if (expectedSha256 !== undefined && candidate.sha256 !== expectedSha256)
    problems.push(
      `model.onnx has sha256 ${candidate.sha256.slice(0, 16)}…, the promotion recorded ${expectedSha256.slice(0, 16)}…`,
    );
  return problems;
}
