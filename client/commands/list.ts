/**
 * `rollout list`: recent rollouts from Temporal visibility, newest first, with the search
 * attributes the rollout keeps current (status, progress %, failed devices); `--status` keeps
 * those in the given states (e.g. `paused,waiting`: the ones waiting for an operator). Visibility is
 * eventually consistent: a rollout started a moment ago may show up a moment later.
 */
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { RolloutStatus, SearchAttribute } from '../../workflows/definitions.js';
import type { FlagProblem } from '../args.js';
import { parseFlags, positionals, problemLine, wholeNumberFlag } from '../args.js';
import type { Command } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import { DEFAULT_LIST_LIMIT } from '../usage.js';
import { ROLLOUT_WORKFLOW_TYPE } from './start.js';

const OPTIONS = {
  status: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const MAX_LIMIT = 10_000;

/**
 * Rollouts, one row each: a rollout that continued-as-new has one closed run per generation,
 * and only its current (or final) run stands for it.
 */
export const LIST_QUERY = `WorkflowType = '${ROLLOUT_WORKFLOW_TYPE}' AND ExecutionStatus != 'ContinuedAsNew'`;

/** One row of `rollout list`. */
export interface RolloutListEntry {
  rolloutId: string;
  /** Temporal's status of the workflow: Running, Completed, Failed, Canceled, Terminated, TimedOut. */
  temporalStatus: string;
  /** The rollout's own status (search attribute RolloutStatus), when set. */
  status: string | null;
  /** Percent of devices done (search attribute RolloutProgress). */
  progress: number | null;
  /** Failed devices (search attribute RolloutFailed). */
  failed: number | null;
  /** Start of the current run (ISO 8601). */
  startTime: string;
  closeTime: string | null;
}

export const list: Command = async (argv, context) => {
  const { values, positionals: given } = parseFlags(argv, OPTIONS, 'list');
  positionals(given, [], 'list');
  const limit = wholeNumberFlag('--limit', values.limit, DEFAULT_LIST_LIMIT, 1, MAX_LIMIT);
  const statuses = statusFilter(values.status);
  if (typeof limit !== 'number' || !Array.isArray(statuses)) {
    throw new CliError([statuses, limit].filter(isProblem).map(problemLine));
  }
  const temporal = await context.temporal();
  const entries: RolloutListEntry[] = [];
  const seen = new Set<string>();
  for await (const info of temporal.client.workflow.list({
    query: listQuery(statuses),
    pageSize: Math.min(limit, 1000),
  })) {
    if (seen.has(info.workflowId)) continue;
    seen.add(info.workflowId);
    entries.push(toEntry(info));
    if (entries.length >= limit) break;
  }
  entries.sort((a, b) => b.startTime.localeCompare(a.startTime));
  if (values.json === true) {
    for (const entry of entries) process.stdout.write(`${JSON.stringify(entry)}\n`);
  } else if (entries.length === 0) {
    const which = statuses.length > 0 ? ` ${statuses.join(' or ')}` : '';
    process.stderr.write(`no${which} rollouts in namespace "${temporal.config.temporal.namespace}"\n`);
  } else {
    process.stdout.write(`${renderTable(entries)}\n`);
  }
  return ExitCode.Ok;
};

const isProblem = (v: unknown): v is FlagProblem => typeof v === 'object' && v !== null && 'flag' in v;

/** `--status paused,waiting` → the statuses asked for ([] = all), or a problem naming the flag. */
export function statusFilter(raw: string | undefined): RolloutStatus[] | FlagProblem {
  if (raw === undefined) return [];
  const known: readonly string[] = Object.values(RolloutStatus);
  const asked = raw.split(',').map((s) => s.trim().toLowerCase());
  const unknown = asked.filter((s) => !known.includes(s));
  if (unknown.length === 0 && asked.length > 0) return [...new Set(asked)] as RolloutStatus[];
  return {
    flag: '--status',
    message: `${unknown.map((u) => JSON.stringify(u)).join(', ')} ${unknown.length === 1 ? 'is not a rollout status' : 'are not rollout statuses'} — use ${known.join(', ')} (several with commas)`,
  };
}

/** The visibility query: every rollout, or those whose RolloutStatus attribute is one of `statuses`. */
export function listQuery(statuses: readonly RolloutStatus[]): string {
  if (statuses.length === 0) return LIST_QUERY;
  return `${LIST_QUERY} AND RolloutStatus IN (${statuses.map((s) => `'${s}'`).join(', ')})`;
}

function toEntry(info: WorkflowExecutionInfo): RolloutListEntry {
  const attributes = info.typedSearchAttributes;
  return {
    rolloutId: info.workflowId,
    temporalStatus: statusName(info.status.name),
    status: attributes.get(SearchAttribute.status) ?? null,
    progress: attributes.get(SearchAttribute.progress) ?? null,
    failed: attributes.get(SearchAttribute.failed) ?? null,
    startTime: info.startTime.toISOString(),
    closeTime: info.closeTime?.toISOString() ?? null,
  };
}

/** `TIMED_OUT` → `TimedOut`, as the Web UI and `temporal` CLI write it. */
function statusName(name: string): string {
  return name
    .toLowerCase()
    .split('_')
    .map((w) => (w === 'cancelled' ? 'Canceled' : w.charAt(0).toUpperCase() + w.slice(1)))
    .join('');
}

/** A plain, aligned table. */
export function renderTable(entries: readonly RolloutListEntry[]): string {
  const header = ['ROLLOUT ID', 'TEMPORAL', 'ROLLOUT', 'PROGRESS', 'FAILED', 'STARTED'];
  const rows = entries.map((e) => [
    e.rolloutId,
    e.temporalStatus,
    e.status ?? '-',
    e.progress === null ? '-' : `${e.progress}%`,
    e.failed === null ? '-' : String(e.failed),
    e.startTime.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows]
    .map((cells) =>
      cells
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
