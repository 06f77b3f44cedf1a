/**
 * What every input validated with zod shares (the config, feature specs, model manifests, the topic and
 * schema manifests): each problem reported as a `place: message` line, all of them at once; and a result
 * that cannot change after it was checked.
 */

/** The part of a zod issue a line is made of (kept structural so callers need not name zod's types). */
export interface Issue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

export interface IssueFormat {
  /** Names the place a path points at; the feature spec names the feature rather than its index. */
  readonly place?: (path: readonly PropertyKey[]) => string;
  /** Appended to the message; the config names the environment variable that supplied a bad value. */
  readonly note?: (path: readonly PropertyKey[]) => string;
}

/** `a.b.0.c`; `(root)` for the value itself, which otherwise would print as an empty place. */
export function dottedPath(path: readonly PropertyKey[]): string {
  return path.length > 0 ? path.map(String).join('.') : '(root)';
}

/** One `place: message` line per issue, in zod's order. */
export function formatIssues(issues: readonly Issue[], format: IssueFormat = {}): string[] {
  const place = format.place ?? dottedPath;
  return issues.map((issue) => `${place(issue.path)}: ${issue.message}${format.note?.(issue.path) ?? ''}`);
}

/** `<source> is invalid (N problems):` followed by one indented line per problem. */
export function invalidMessage(source: string, problems: readonly string[]): string {
  const count = `${problems.length} problem${problems.length === 1 ? '' : 's'}`;
  return `${source} is invalid (${count}):\n  - ${problems.join('\n  - ')}`;
}

/**
 * Freezes `value` and everything reachable from it, so a validated result cannot drift from what was
 * checked. Frozen objects are walked too: a shallow freeze elsewhere says nothing about their children.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
