/**
 * Workflow time. Deterministic inside Temporal's sandbox: `Date` there is the time of the
 * current workflow task, the same on every replay.
 */
export function workflowNow(): number {
  return new Date().getTime();
}
