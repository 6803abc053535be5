/**
 * The usage text: commands, their flags and the defaults (taken from `DEFAULT_SETTINGS`, so
 * the help never disagrees with what a rollout actually uses).
 */
import { DEFAULT_SETTINGS } from '../workflows/settings.js';
import { RolloutStatus } from '../workflows/definitions.js';
import type { SettingFlag } from './settings-flags.js';
import { formatSetting, LIVE_FLAGS, placeholder, SETTING_FLAGS } from './settings-flags.js';

/** Rollouts `list` shows unless `--limit` says otherwise. */
export const DEFAULT_LIST_LIMIT = 20;

interface CommandHelp {
  synopsis: string;
  summary: string;
  flags: ReadonlyArray<readonly [string, string]>;
}

const startFlags = (): Array<readonly [string, string]> => [
  ['--fleet FILE', 'the devices: NDJSON, a JSON array, or CSV with an id,url header (required)'],
  ['--artifact FILE', 'the file every device receives (required)'],
  ['--id ID', 'rollout id = Temporal workflow id, never reused [rollout-YYYYMMDD-HHMMSS-xxxx]'],
  ...SETTING_FLAGS.map((f) => settingFlagLine(f, true)),
  [
    '--allow-hosts LIST',
    'refuse a fleet with a URL on any other host: a.example.com,*.example.net,10.0.0.5:8443',
  ],
  ['--wait', 'show live progress, wait for the end, print the report'],
  ['--json', 'print {"rolloutId","url"}; with --wait, the report is the last stdout line'],
];

/** `--rate N`, its help and, with `withDefault`, its default. */
function settingFlagLine(f: SettingFlag, withDefault: boolean): readonly [string, string] {
  const value = placeholder(f);
  const fallback = withDefault ? ` [${formatSetting(f, DEFAULT_SETTINGS[f.setting])}]` : '';
  return [`--${f.name}${value ? ` ${value}` : ''}`, `${f.help}${fallback}`];
}

/** Help of a command that signals a running rollout. */
const control =
  (name: string, summary: string, flags: ReadonlyArray<readonly [string, string]> = []) =>
  () => ({
    synopsis: `${name} ID${flags.map(([f]) => ` [${f}]`).join('')}`,
    summary,
    flags,
  });

const COMMANDS: Readonly<Record<string, () => CommandHelp>> = {
  start: () => ({
    synopsis: 'start --fleet FILE --artifact FILE [options]',
    summary: 'validate the fleet and artifact, start a rollout, print its id',
    flags: startFlags(),
  }),
  status: () => ({
    synopsis: 'status ID [--json] [--follow]',
    summary: "a running rollout's progress, or a finished one's report",
    flags: [
      ['--json', 'one JSON line: the progress or report object'],
      ['--follow', 'keep showing progress until the end, then exit with the rollout code'],
    ],
  }),
  cancel: () => ({
    synopsis: 'cancel ID',
    summary: 'request cancellation: no new pushes, in-flight pushes aborted, report kept',
    flags: [],
  }),
  pause: control('pause', 'stop starting pushes (those in flight finish); `resume` continues', [
    ['--reason TEXT', 'why, shown by `status` and in the Web UI'],
  ]),
  resume: control('resume', 'continue a paused rollout (after a breaker pause: accept its failures so far)'),
  approve: control(
    'approve',
    'let the next wave start (ends a wait for approval, or a bake and its approval)',
  ),
  promote: control('promote', 'skip the rest of the bake of the wave just done (an approval still waits)'),
  set: () => ({
    synopsis: 'set ID [--rate N] [--max-in-flight N] [--failure-threshold RATIO]',
    summary: "change a running rollout's live settings (validated by the rollout; at least one flag)",
    flags: LIVE_FLAGS.map((f) => settingFlagLine(f, false)),
  }),
  list: () => ({
    synopsis: 'list [--status S] [--limit N] [--json]',
    summary: 'recent rollouts, newest first',
    flags: [
      [
        '--status S',
        `only rollouts in these states, e.g. paused,waiting (${Object.values(RolloutStatus).join(', ')})`,
      ],
      ['--limit N', `rollouts to show [${DEFAULT_LIST_LIMIT}]`],
      ['--json', 'one JSON line per rollout'],
    ],
  }),
  results: () => ({
    synopsis: 'results ID',
    summary: "every device's final outcome, one JSON line a device (NDJSON)",
    flags: [],
  }),
  help: () => ({ synopsis: 'help [COMMAND]', summary: 'this text', flags: [] }),
};

/** Names of the commands, in usage order. */
export const COMMAND_NAMES: readonly string[] = Object.keys(COMMANDS);

const FOOTER = [
  'Durations need a unit: 500ms, 30s, 2m, 1h. Ratios go from 0 to 1 (0.2, or 20%).',
  'Exit codes: 0 ok / completed, 2 halted by the breaker, 3 cancelled, 1 any other error.',
  'Environment: TEMPORAL_ADDRESS [localhost:7233], TEMPORAL_NAMESPACE [default],',
  '  TEMPORAL_TASK_QUEUE [rollouts], TEMPORAL_TLS, TEMPORAL_TLS_CA/CERT/KEY/SERVER_NAME, TEMPORAL_API_KEY,',
  '  TEMPORAL_UI_URL [a local dev server: its port + 1000, http://localhost:8233],',
  '  TEMPORAL_CONNECT_TIMEOUT_MS [10000],',
  '  ROLLOUT_DATA_DIR (frozen fleets, for `results`), ROLLOUT_DEBUG=1 (stack traces).',
];

/** Usage of one command, or of all when `command` is not one. */
export function usage(command?: string): string {
  const help = command === undefined ? undefined : COMMANDS[command];
  if (help)
    return [`Usage: rollout ${help().synopsis}`, '', `  ${help().summary}`, ...flagLines(help().flags)].join(
      '\n',
    );
  const lines = [
    'rollout — roll an update out to a fleet of devices, durably, on Temporal',
    '',
    'Usage: npm run --silent rollout -- <command> [arguments]',
    '',
    'Commands:',
    ...Object.values(COMMANDS).map((c) => commandLine(c())),
    '',
    'Options of start [default]:',
    ...flagLines(startFlags()).slice(1),
    '',
    ...FOOTER,
  ];
  return lines.join('\n');
}

/** A command and its summary on one line, or two when the synopsis is long. */
function commandLine(help: CommandHelp): string {
  const width = 46;
  if (help.synopsis.length < width) return `  ${help.synopsis.padEnd(width)}${help.summary}`;
  return `  ${help.synopsis}\n  ${' '.repeat(width)}${help.summary}`;
}

function flagLines(flags: ReadonlyArray<readonly [string, string]>): string[] {
  if (flags.length === 0) return [];
  return ['', ...flags.map(([flag, text]) => `  ${flag.padEnd(28)}${text}`)];
}
