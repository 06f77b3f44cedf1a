/**
 * A bounded stop: every step is attempted, in order, each within its share of the budget; a step that
 * fails or does not finish in time is recorded by name and the next one runs anyway. What a stuck step was
 * doing is abandoned, not awaited: the process is about to exit, and an orchestrator's grace period ends in
 * SIGKILL, which is worse.
 */
export interface ShutdownStep {
  readonly name: string;
  /** Share of the whole budget this step may take (the shares add up to 1 or less). */
  readonly share: number;
  readonly run: () => Promise<unknown> | undefined;
}

export interface ShutdownReport {
  /** Steps that failed or timed out, in order, with what happened. */
  readonly failed: ReadonlyArray<{ readonly step: string; readonly reason: string }>;
  readonly elapsedMs: number;
}

const TIMEOUT = Symbol('timeout');

export async function runShutdown(
  steps: readonly ShutdownStep[],
  budgetMs: number,
  onFailure: (step: string, reason: string, err: unknown) => void = () => undefined,
): Promise<ShutdownReport> {
  const started = Date.now();
  const failed: Array<{ step: string; reason: string }> = [];
  for (const step of steps) {
    const limit = Math.max(1, Math.floor(budgetMs * step.share));
    let timer: NodeJS.Timeout | undefined;
    try {
      const outcome = await Promise.race([
        Promise.resolve().then(step.run),
        new Promise<typeof TIMEOUT>((resolve) => {
          timer = setTimeout(() => resolve(TIMEOUT), limit);
        }),
      ]);
      if (outcome === TIMEOUT) {
        const reason = `did not finish within ${limit} ms`;
        failed.push({ step: step.name, reason });
        onFailure(step.name, reason, undefined);
      }
    } catch (err) {
      const reason = (err as Error)?.message ?? String(err);
      failed.push({ step: step.name, reason });
      onFailure(step.name, reason, err);
    } finally {
      clearTimeout(timer);
    }
  }
  return { failed, elapsedMs: Date.now() - started };
}
