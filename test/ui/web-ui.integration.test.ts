/**
 * A LoadTest reads clearly in the Temporal Web UI: proved in headless Chromium (Debian's package, driven by
 * playwright-core with executablePath: no browser download) against the test bed's dev server, for a LoadTest
 * the operator ran to `finished` and one that ended `failed`. Screenshots go to test/artifacts/ui/.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { requireTestbedEnv } from '../testbed/state.js';
import { requireTool } from '../support/tools.js';
import {
  apply,
  CountingServer,
  createNamespace,
  ensureCrd,
  kubectl,
  loadTestManifest,
  Operator,
  REPO,
  waitForJsonPath,
} from '../operator/cluster.js';

const CHROMIUM = requireTool('chromium');
const SCREENSHOTS = join(REPO, 'test/artifacts/ui');
/** Flags for a root sandbox with no network beyond loopback (see the machine notes). */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('Temporal Web UI', function () {
  this.timeout(180_000);
  let operator: Operator;
  let server: CountingServer;
  let browser: Browser;
  let page: Page;
  let uiUrl: string;
  const namespace = `ui-${process.pid}`;

  before(async function () {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run bash test/testbed/ensure-packages.sh`);
    mkdirSync(SCREENSHOTS, { recursive: true });
    uiUrl = requireTestbedEnv().TEMPORAL_UI_URL;
    await ensureCrd();
    await createNamespace(namespace);
    operator = new Operator('ui');
    operator.start();
    server = new CountingServer();
    await server.expose(namespace, 'nginx');
    await apply(
      loadTestManifest(namespace, 'ui-finished', {
        replicas: 2,
        test: { method: 'GET', serviceName: 'nginx', path: '/', repeat: 5 },
        thresholds: ['p99 < 10s'],
      }),
    );
    await apply(
      loadTestManifest(namespace, 'ui-failed', {
        replicas: 2,
        test: { method: 'GET', serviceName: 'no-such-service', path: '/', repeat: 5 },
      }),
    );
    await waitForJsonPath('ld/ui-finished', namespace, '{.status.state}', 'finished');
    await waitForJsonPath('ld/ui-failed', namespace, '{.status.state}', 'failed');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  after(async function () {
    await browser?.close();
    await operator?.stop();
    await server?.close();
    await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => {});
  });

  afterEach(async function () {
    // What the browser showed when a test failed is the first thing to look at.
    if (this.currentTest?.state === 'failed' && page !== undefined) {
      const name = (this.currentTest.title.split(' ').slice(0, 4).join('-') + '-failure').replace(/[^\w-]/g, '');
      await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
    }
  });

  /** Filters the workflow list by the LoadTest's name (the query the UI's filter bar builds) and opens its run. */
  /**
   * Opens the LoadTest's long-lived workflow, or (`run`) the workflow of its first run, where the run's steps
   * are (workflows/run.ts).
   */
  async function openRun(name: string, which: 'loadtest' | 'run' = 'loadtest'): Promise<void> {
    const type = which === 'run' ? 'loadTestRunWorkflow' : 'loadTestWorkflow';
    const query = `LoadTestName="${name}" AND LoadTestNamespace="${namespace}" AND WorkflowType="${type}"`;
    const link = page.getByRole('link', { name: `loadtest/${namespace}/${name}/` }).first();
    // The list is read once per page load: a run whose search attributes reached visibility just after that load
    // shows up only on the next one.
    for (let attempt = 1; ; attempt++) {
      await page.goto(`${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
      try {
        await link.waitFor({ timeout: 15_000 });
        break;
      } catch (error) {
        if (attempt === 4) throw error;
      }
    }
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-list.png`) });
    await link.click();
    await page.getByText('Event History').first().waitFor();
  }

  async function openTab(tab: 'User Metadata' | 'Search Attributes'): Promise<void> {
    await page.getByText(tab, { exact: true }).first().click();
  }

  /** The UI renders summaries and details (Markdown) in sandboxed iframes: wait for `text` in any of them. */
  async function markdownShows(text: string | RegExp): Promise<void> {
    const frames = page.locator('iframe');
    await frames.first().waitFor();
    const count = await frames.count();
    const inFrame = (index: number) => frames.nth(index).contentFrame().getByText(text).first().waitFor();
    await Promise.any(Array.from({ length: count }, (_, index) => inFrame(index))).catch(() => {
      throw new Error(`the UI shows no "${String(text)}" in its ${count} Markdown frames`);
    });
  }

  it('finds a finished LoadTest by name and shows its state, search attributes, summary and steps', async function () {
    // The run's own workflow: its activity summaries in the timeline say what each step did.
    await openRun('ui-finished', 'run');
    // The timeline shows its top rows: newest first, the run's last steps; then oldest first, its first ones.
    await page.getByText('watch 2 runners: live results, abort thresholds, final merge').first().waitFor();
    await page.getByRole('button', { name: 'Descending' }).first().click();
    await page.getByText('create 2 runners').first().waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'ui-finished-timeline.png'), fullPage: true });

    await openTab('User Metadata');
    await markdownShows(`LoadTest ${namespace}/ui-finished: GET http://nginx.${namespace}.svc:80/`);
    await markdownShows('State: finished');
    await markdownShows('10 requests, 0 errors');
    await page.screenshot({ path: join(SCREENSHOTS, 'ui-finished-details.png'), fullPage: true });

    await openTab('Search Attributes');
    const attributes = page.locator('main');
    await attributes.getByText('"LoadTestState": "finished"').waitFor();
    const text = await attributes.innerText();
    assert.match(text, /"LoadTestName": "ui-finished"/);
    assert.match(text, new RegExp(`"LoadTestNamespace": "${namespace}"`));
    assert.match(text, /"LoadTestGeneration": 1/);
    await page.screenshot({ path: join(SCREENSHOTS, 'ui-finished-search-attributes.png') });
  });

  it('shows the live numbers of a running LoadTest, all runners merged, in its current details', async function () {
    await apply(
      loadTestManifest(namespace, 'ui-live', {
        replicas: 2,
        test: { method: 'GET', serviceName: 'nginx', path: '/', rate: 20, duration: '60s' },
      }),
    );
    await waitForJsonPath('ld/ui-live', namespace, '{.status.state}', 'executing', 120);
    // The run's own workflow takes in the live view; the LoadTest's is told its states.
    await openRun('ui-live', 'run');
    await openTab('User Metadata');
    await markdownShows('State: executing');
    // The workflow takes in the merged live view every 10 s: reload until the details carry one.
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await markdownShows('Live, all runners merged:');
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await page.reload();
        await openTab('User Metadata');
      }
    }
    await markdownShows(/\d+ requests so far \(\d+ errors\), [\d.]+ req\/s, p99 [\d.]+ ms so far/);
    await page.screenshot({ path: join(SCREENSHOTS, 'ui-live-details.png'), fullPage: true });
    await kubectl(['delete', 'ld', 'ui-live', '-n', namespace, '--wait=false']);
  });

  it("shows a failed LoadTest's reason in its details, without opening raw event JSON", async function () {
    await openRun('ui-failed');
    await openTab('User Metadata');
    await markdownShows('State: failed');
    // Markdown typesets the quotes.
    await markdownShows(new RegExp(`Failed: Service .no-such-service. does not exist in namespace .${namespace}.`));
    await page.screenshot({ path: join(SCREENSHOTS, 'ui-failed-details.png'), fullPage: true });
  });
});
