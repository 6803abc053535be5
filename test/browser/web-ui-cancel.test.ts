/**
 * The Temporal Web UI against a live rollout, in real Chromium (Debian's, driven by
 * playwright-core): an operator opens the rollout's page, reads its current details and
 * requests cancellation there; the rollout ends cancelled and the simulated fleet sees no push
 * start once the rollout heard of it. Screenshots go to `test-artifacts/browser/`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, inject, it, onTestFailed } from 'vitest';
import { REPO_ROOT } from '../../shared/paths.js';
import type { DeviceSimulator } from '../../simulator/index.js';
import type { TestEnv } from '../helpers/temporal-env.js';
import { createTestEnv, outcomeOf, prepareRollout, startRollout, waitFor } from '../helpers/temporal-env.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'browser');
const DEVICES = 200;
const MAX_IN_FLIGHT = 5;
const TIMEOUTS = {
  launchMs: 30 * 1000, // 30 s for Chromium to start, even on a loaded 2-core machine
  uiMs: 30 * 1000, // 30 s for any page, element or refresh to show up
  refreshMs: 1000, // 1 s between presses of the UI's "R" (refresh) key
  readMs: 5 * 1000, // 5 s for one read of the Current Details pane
};
/**
 * Pushes may still start after the server recorded the cancel request: those the batch had
 * already scheduled, and those it scheduled before the rollout's `stop` signal reached it (a
 * workflow task of the rollout, then one of the batch). Here that is a few hundred ms at most;
 * 1 s leaves room for a loaded machine without letting a batch that ignores the stop pass.
 */
const REACTION_MS = 1000;

let env: TestEnv;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `The Web UI test drives Debian's Chromium at ${CHROMIUM}, which is missing: ` +
        'install it with `apt-get install -y chromium` (as root; .ci/run does).',
    );
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  env = await createTestEnv('web-ui');
  await env.startWorker();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: TIMEOUTS.launchMs,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await env?.close();
});

/** What the UI's "Current Details" pane shows: the headline and the counts table. */
interface ShownDetails {
  status: string;
  done: number;
  total: number;
  counts: Record<string, number>;
}

/**
 * Reads the "Current Details" pane of the User Metadata tab. The UI renders the markdown the
 * workflow set with `setCurrentDetails` in a sandboxed iframe; its id is the only thing that
 * tells it from the Summary and Details iframes (all three are titled "output").
 */
async function readCurrentDetails(page: Page): Promise<ShownDetails | undefined> {
  const frame = page.locator('#user-metadata-current-details').contentFrame();
  const text = await frame.locator('body').innerText({ timeout: TIMEOUTS.readMs });
  const headline = /Rollout (\w+) — \d+ % \((\d+) \/ (\d+) devices\)/.exec(text);
  if (headline === null) return undefined;
  const headers = await frame.getByRole('columnheader').allInnerTexts();
  const cells = await frame.getByRole('cell').allInnerTexts();
  const counts = Object.fromEntries(headers.map((name, i) => [name.trim(), Number(cells[i])]));
  return { status: headline[1]!, done: Number(headline[2]), total: Number(headline[3]), counts };
}

/** Presses the UI's refresh key ("R") until the pane shows what `accept` wants. */
async function waitForDetails(page: Page, accept: (shown: ShownDetails) => boolean): Promise<ShownDetails> {
  const deadline = Date.now() + TIMEOUTS.uiMs;
  let last: ShownDetails | string | undefined;
  for (;;) {
    // A read can race the iframe reloading after "R"; the next round reads the new one.
    last = await readCurrentDetails(page).catch((error: Error) => error.message);
    if (typeof last === 'object' && accept(last)) return last;
    if (Date.now() > deadline) {
      throw new Error(`Current Details never showed what was expected; last seen: ${JSON.stringify(last)}`);
    }
    await page.waitForTimeout(TIMEOUTS.refreshMs);
    await page.keyboard.press('r');
  }
}

async function screenshot(page: Page, name: string): Promise<void> {
  const path = join(ARTIFACTS, `web-ui-cancel-${name}.png`);
  await page.screenshot({ path, animations: 'disabled' });
  console.log(`web-ui cancel: screenshot ${path}`);
}

/** Opens the rollout's page and its User Metadata tab, where Current Details live. */
async function openRollout(page: Page, rolloutId: string): Promise<void> {
  const uiUrl = inject('temporalUiUrl');
  if (uiUrl === null) throw new Error('The test dev server runs without a Web UI (no Temporal CLI found).');
  await page.goto(`${uiUrl}/namespaces/default/workflows/${encodeURIComponent(rolloutId)}`, {
    waitUntil: 'domcontentloaded',
  });
  await page.getByRole('tab', { name: 'User Metadata' }).click();
  await page.getByRole('heading', { name: 'Current Details' }).waitFor();
}

/** Server time (ms since the epoch) at which the rollout's cancel request was recorded. */
async function cancelRequestedAt(handle: WorkflowHandle): Promise<number> {
  const { events } = await handle.fetchHistory();
  const event = events?.find((e) => e.workflowExecutionCancelRequestedEventAttributes != null);
  if (!event?.eventTime) throw new Error('the rollout has no WorkflowExecutionCancelRequested event');
  return Number(event.eventTime.seconds) * 1000 + Math.floor((event.eventTime.nanos ?? 0) / 1e6);
}

/** Asks for cancellation the way an operator does; resolves with the time of the confirm click. */
async function requestCancellation(page: Page, rolloutId: string): Promise<number> {
  await page.getByRole('button', { name: 'Request Cancellation' }).click();
  const dialog = page.getByRole('dialog', { name: 'Cancel Workflow' });
  await dialog.getByRole('button', { name: 'Confirm' }).waitFor();
  await screenshot(page, '2-confirm');
  const cancelCall = page.waitForResponse(
    (r) =>
      r.request().method() === 'POST' &&
      r.url().includes(`/workflows/${encodeURIComponent(rolloutId)}/cancel`),
  );
  const clickedAt = Date.now();
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  const answer = await cancelCall;
  expect(answer.ok(), `the UI's cancel call answered ${answer.status()}: ${await answer.text()}`).toBe(true);
  return clickedAt;
}

function expectRunningDetails(shown: ShownDetails, sim: DeviceSimulator): void {
  expect(shown).toMatchObject({ status: 'running', total: DEVICES });
  const { succeeded, failed, aborted } = shown.counts;
  const [inFlight, notAttempted] = [shown.counts['in flight'], shown.counts['not attempted']];
  expect([succeeded, failed, inFlight, aborted, notAttempted].every(Number.isInteger)).toBe(true);
  expect(succeeded! + failed! + inFlight! + aborted! + notAttempted!).toBe(DEVICES);
  expect(shown.done).toBe(succeeded! + failed! + aborted!);
  expect(failed).toBe(0);
  expect(inFlight).toBeLessThanOrEqual(MAX_IN_FLIGHT);
  // The UI can lag the fleet, never lead it: every device it counts answered the simulator.
  expect(succeeded).toBeLessThanOrEqual(sim.stats().applied);
}

it('cancels a running rollout from the Web UI: no push starts after it, none left running', async () => {
  const sim = await env.simulator(DEVICES, () => ({ latencyMs: [400, 800] }));
  const { input } = await prepareRollout(env, sim, {
    settings: { mode: 'per-device', maxInFlight: MAX_IN_FLIGHT, batchSize: 50 },
  });
  const rolloutId = `web-ui-cancel-${Date.now()}`;
  const handle = await startRollout(env, input, rolloutId);
  const page = await browser!.newPage({ viewport: { width: 1400, height: 1000 } });
  page.setDefaultTimeout(TIMEOUTS.uiMs);
  onTestFailed(async () => {
    await screenshot(page, 'failed');
  });

  await openRollout(page, rolloutId);
  const shown = await waitForDetails(page, (d) => d.status === 'running' && (d.counts.succeeded ?? 0) > 0);
  expectRunningDetails(shown, sim);
  await screenshot(page, '1-running');

  const clickedAt = await requestCancellation(page, rolloutId);
  const ending = await outcomeOf(handle);
  const described = await handle.describe();
  const requestedAt = await cancelRequestedAt(handle);

  expect(ending.status).toBe('cancelled');
  expect(described.status.name).toBe('CANCELLED');
  expect(requestedAt).toBeGreaterThanOrEqual(clickedAt);
  const late = sim.attempts.filter((a) => a.startedAt > requestedAt + REACTION_MS);
  expect(late).toEqual([]);
  await waitFor(() => sim.stats().inFlight === 0, 5_000, 'every push to have ended');
  const report = ending.report!;
  expect(report.status).toBe('cancelled');
  expect(report.succeeded + report.aborted + report.notAttempted).toBe(DEVICES);
  expect(report.notAttempted).toBeGreaterThan(0);
  expect(sim.attempts.filter((a) => a.aborted)).toHaveLength(report.aborted);

  const afterClick = sim.attempts.filter((a) => a.startedAt > clickedAt).map((a) => a.startedAt - clickedAt);
  const lastAfterClick = Math.max(0, ...afterClick);
  console.log(
    `web-ui cancel: click→Cancelled ${described.closeTime!.getTime() - clickedAt} ms ` +
      `(click→cancel request recorded ${requestedAt - clickedAt} ms; ` +
      `pushes started after the click: ${afterClick.length}, the last at +${lastAfterClick} ms; ` +
      `${report.succeeded} succeeded, ${report.aborted} aborted, ${report.notAttempted} not attempted)`,
  );

  await page.reload({ waitUntil: 'domcontentloaded' });
  await page.getByRole('status').filter({ hasText: 'Canceled' }).waitFor();
  await waitForDetails(page, (d) => d.status === 'cancelled');
  expect(await page.getByRole('button', { name: 'Request Cancellation' }).count()).toBe(0);
  await screenshot(page, '3-cancelled');
});
