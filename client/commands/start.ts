/**
 * `rollout start`: checks everything it can before touching Temporal — flags, the fleet file
 * (parsed by the worker's own parser; with `--allow-hosts`, every device URL's host), the
 * artifact (hashed) — then checks the search
 * attributes and starts `rolloutWorkflow` under an id that is never reused. Nothing is
 * started unless everything is valid.
 */
import { randomInt } from 'node:crypto';
import { basename } from 'node:path';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import type { ArtifactRef, RolloutInput, RolloutSettings } from '../../workflows/definitions.js';
import { RolloutStatus, SearchAttribute } from '../../workflows/definitions.js';
import { HostAllowlist } from '../../shared/host-allowlist.js';
import type { FlagOptions, FlagProblem } from '../args.js';
import { parseFlags, problemLine } from '../args.js';
import { checkArtifact, formatBytes } from '../artifact.js';
import type { Temporal } from '../config.js';
import { workflowUrl } from '../config.js';
import type { Command } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import type { CheckedFleet } from '../fleet-file.js';
import { checkFleetFile, disallowedHost } from '../fleet-file.js';
import { followRollout } from '../follow.js';
import { count, settingsMarkdown } from '../render.js';
import { checkSearchAttributes } from '../search-attributes.js';
import type { FlagValues } from '../settings-flags.js';
import { flagOptions, formatSetting, SETTING_FLAGS, settingsFromFlags } from '../settings-flags.js';

/** Workflow type of a rollout (registered by the worker). */
export const ROLLOUT_WORKFLOW_TYPE = 'rolloutWorkflow';

const OPTIONS = {
  fleet: { type: 'string' },
  artifact: { type: 'string' },
  id: { type: 'string' },
  ...flagOptions(SETTING_FLAGS),
  'allow-hosts': { type: 'string' },
  wait: { type: 'boolean' },
  json: { type: 'boolean' },
} as const satisfies FlagOptions;

/** What `rollout start` was asked to do, once its flags are valid. */
export interface StartRequest {
  fleetPath: string;
  artifactPath: string;
  /** Absent: generate one. */
  id: string | undefined;
  settings: RolloutSettings;
  /** `--allow-hosts`: every device URL must be on one of these hosts (absent: no check). */
  allowHosts: HostAllowlist | undefined;
  wait: boolean;
  json: boolean;
}

const ID_RE = /^[\x21-\x7e]{1,200}$/;

/** Parses and validates the flags of `rollout start`; throws `CliError` with one line per bad flag. */
export function parseStartArgs(argv: readonly string[]): StartRequest {
  const parsed = parseFlags(argv, OPTIONS, 'start');
  const values: FlagValues = parsed.values;
  const positionals = parsed.positionals;
  const problems: FlagProblem[] = [];
  const text = (name: string): string | undefined => {
    const value = values[name];
    return typeof value === 'string' ? value : undefined;
  };
  const fleetPath = text('fleet');
  const artifactPath = text('artifact');
  if (positionals.length > 0) {
    problems.push({
      flag: JSON.stringify(positionals[0]),
      message: 'unexpected argument — `start` takes flags only',
    });
  }
  if (fleetPath === undefined || fleetPath === '') {
    problems.push({ flag: '--fleet', message: 'required: the fleet file (NDJSON, a JSON array, or CSV)' });
  }
  if (artifactPath === undefined || artifactPath === '') {
    problems.push({ flag: '--artifact', message: 'required: the file to push to every device' });
  }
  const id = text('id');
  if (id !== undefined && !ID_RE.test(id)) {
    problems.push({
      flag: '--id',
      message: `must be 1 to 200 printable characters without spaces (got ${JSON.stringify(id)})`,
    });
  }
  const { settings, problems: settingProblems } = settingsFromFlags(values);
  problems.push(...settingProblems);
  const allowHosts = allowHostsFlag(text('allow-hosts'), settings.verifyUrl, problems);
  if (problems.length > 0 || fleetPath === undefined || artifactPath === undefined) {
    throw new CliError(problems.map(problemLine));
  }
  return {
    fleetPath,
    artifactPath,
    id,
    settings,
    allowHosts,
    wait: values.wait === true,
    json: values.json === true,
  };
}

/**
 * `--allow-hosts HOST[,HOST…]`, checked against the `--verify` template when its host does not
 * depend on the device (one that does is checked per device with the fleet file).
 */
function allowHostsFlag(
  raw: string | undefined,
  verifyTemplate: string | undefined,
  problems: FlagProblem[],
): HostAllowlist | undefined {
  if (raw === undefined) return undefined;
  const parsed = HostAllowlist.parse(raw);
  if ('problems' in parsed) {
    for (const message of parsed.problems) {
      problems.push({
        flag: '--allow-hosts',
        message: `${message} (e.g. --allow-hosts '*.devices.example.com,10.0.0.5:8443')`,
      });
    }
    return undefined;
  }
  const { allowlist } = parsed;
  const hostPart = /^[a-z]+:\/\/([^/?#]*)/i.exec(verifyTemplate ?? '')?.[1] ?? '';
  if (verifyTemplate !== undefined && !hostPart.includes('{id}') && !allowlist.allows(verifyTemplate)) {
    problems.push({
      flag: '--verify',
      message: `${disallowedHost('the', verifyTemplate, allowlist)} — fix the status URL, or add its host to --allow-hosts`,
    });
  }
  return allowlist;
}

/** `rollout-YYYYMMDD-HHMMSS-xxxx` (UTC, 4 random base-36 characters). */
export function generateRolloutId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `rollout-${stamp}-${randomInt(36 ** 4)
    .toString(36)
    .padStart(4, '0')}`;
}

export const start: Command = async (argv, context) => {
  const request = parseStartArgs(argv);
  const fleet = await checkFleetFile(request.fleetPath, {
    allowHosts: request.allowHosts,
    verifyTemplate: request.settings.verifyUrl,
  });
  const artifact = await checkArtifact(request.artifactPath);
  const temporal = await context.temporal();
  const { namespace } = temporal.config.temporal;
  await checkSearchAttributes(temporal.connection, namespace);
  const input: RolloutInput = { fleet: fleet.source, artifact, settings: request.settings };
  const handle = await startWorkflow(temporal, request.id, input, fleet);
  const id = handle.workflowId;
  const url = workflowUrl(temporal.config, id);
  process.stderr.write(`started rollout ${id} (${count(fleet.devices)} devices)\nWeb UI: ${url}\n`);
  process.stdout.write(request.json ? `${JSON.stringify({ rolloutId: id, url })}\n` : `${id}\n`);
  return request.wait ? await followRollout(temporal, handle, request.json) : ExitCode.Ok;
};

/** Starts the workflow; a generated id that happens to exist is replaced, a chosen one is an error. */
async function startWorkflow(
  temporal: Temporal,
  chosenId: string | undefined,
  input: RolloutInput,
  fleet: CheckedFleet,
): Promise<WorkflowHandle> {
  for (let attempt = 1; ; attempt++) {
    const id = chosenId ?? generateRolloutId();
    try {
      return await temporal.client.workflow.start(ROLLOUT_WORKFLOW_TYPE, {
        taskQueue: temporal.config.temporal.taskQueue,
        workflowId: id,
        args: [input],
        // A rollout id names one rollout forever: its report, its batches, its Web UI page.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        staticSummary: `Rollout of ${basename(input.artifact.path)} (${formatBytes(input.artifact.size)}) to ${count(fleet.devices)} devices`,
        staticDetails: startDetails(input, fleet.devices),
        typedSearchAttributes: [
          { key: SearchAttribute.id, value: id },
          { key: SearchAttribute.status, value: RolloutStatus.Running },
          { key: SearchAttribute.progress, value: 0 },
          { key: SearchAttribute.failed, value: 0 },
        ],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      if (chosenId === undefined && attempt < 3) continue;
      throw new CliError(
        `a rollout with id "${id}" already exists (ids are never reused); choose another --id`,
      );
    }
  }
}

/** Markdown for the Web UI: what is rolled out where, with which settings. */
function startDetails(input: RolloutInput, devices: number): string {
  const artifact: ArtifactRef = input.artifact;
  const rows: Array<readonly [string, string]> = [
    ['fleet', `\`${input.fleet.path}\` (${count(devices)} devices, sha-256 ${input.fleet.sha256})`],
    ['artifact', `\`${artifact.path}\` (${formatBytes(artifact.size)}, sha-256 ${artifact.sha256})`],
    ...SETTING_FLAGS.map((f) => [`--${f.name}`, formatSetting(f, input.settings[f.setting])] as const),
  ];
  return settingsMarkdown(rows, `**Rollout** of \`${basename(artifact.path)}\` to ${count(devices)} devices`);
}
