// Drives Debian's chromium (headless, through playwright-core) through the
// dashboard of a running platform, as a trader would:
//
//   node services/gateway/web/e2e/dashboard.mjs <url> <key> <artifacts-dir> [<viewer-key>]
//
// live simulator prices, a paper limit order placed and canceled, a market
// order with its fill and position, a strategy started, a GOOG backtest with
// its results and report (and, given a viewer key, what a viewer may not do). Prints `ok <step>: ...` per step and one
// `RESULT {json}` line for the caller to check against the platform; exits 1
// with `FAIL <step>: ...` (and a screenshot) at the first step that does not
// happen. Environment: PLAYWRIGHT_CORE_DIR (default <repo>/.tools/node),
// CHROMIUM (default /usr/bin/chromium), E2E_TIMEOUT_MS per step (default 60000).
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const [url, key, artifacts, viewerKey] = process.argv.slice(2);
if (!url || !key || !artifacts) {
  console.error('usage: node dashboard.mjs <url> <key> <artifacts-dir>');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../../..');
const toolDir = process.env.PLAYWRIGHT_CORE_DIR || join(repo, '.tools/node');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const STEP = Number(process.env.E2E_TIMEOUT_MS || 60000);

if (!existsSync(join(toolDir, 'node_modules/playwright-core'))) {
  console.error(`FAIL setup: playwright-core is not installed in ${toolDir} (scripts/test.sh installs it: npm ci there)`);
  process.exit(1);
}
if (!existsSync(chromiumPath)) {
  console.error(`FAIL setup: no chromium at ${chromiumPath} (scripts/test.sh installs Debian's: apt-get install -y chromium chromium-driver)`);
  process.exit(1);
}
const require = createRequire(join(toolDir, 'package.json'));
const { chromium } = require('playwright-core');

mkdirSync(artifacts, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), 'trader-e2e-profile-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: chromiumPath,
  headless: true,
  viewport: { width: 1400, height: 1000 },
  // The machine's network refuses background connections: none are made.
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = context.pages()[0] || (await context.newPage());
page.setDefaultTimeout(STEP);
const pageErrors = [];
const requestsOut = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));
page.on('console', (m) => { if (m.type() === 'error') console.log(`console.error: ${m.text()}`); });
page.on('request', (r) => { if (!r.url().startsWith(url) && !r.url().startsWith('data:') && !r.url().startsWith('about:')) requestsOut.push(r.url()); });

const result = {};
let step = 'start';
let shot = 0;
async function screenshot(name) {
  shot += 1;
  const file = join(artifacts, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
function ok(detail) { console.log(`ok ${step}: ${detail}`); }
async function finish(code) {
  await context.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
  process.exit(code);
}

try {
  step = 'load';
  await page.goto(`${url}/?key=${encodeURIComponent(key)}`);
  await page.waitForSelector('body[data-ready="true"]');
  if (page.url().includes(key)) throw new Error(`the key is still in the address bar: ${page.url()}`);
  const stored = await page.evaluate(() => sessionStorage.getItem('trader.token'));
  if (stored !== key) throw new Error('the key is not kept in sessionStorage');
  await page.waitForSelector('#ws-state.open');
  ok(`page loaded, key moved from the URL into sessionStorage, WebSocket live`);

  step = 'live-prices';
  // Prices that move while we watch: several quote updates over the WebSocket.
  const sim = page.locator('.quote[data-symbol="SIM-A"]');
  await sim.waitFor();
  await page.waitForFunction(() => Number(document.querySelector('.quote[data-symbol="SIM-A"]')?.dataset.updates || 0) >= 3);
  const seen = [await sim.getAttribute('data-last')];
  await page.waitForFunction((first) => {
    const q = document.querySelector('.quote[data-symbol="SIM-A"]');
    return q && q.dataset.last !== first;
  }, seen[0]);
  seen.push(await sim.getAttribute('data-last'));
  await page.waitForFunction(() => document.querySelector('#chart')?.dataset.symbol === 'SIM-A'
    && Number(document.querySelector('#chart').dataset.bars || 0) >= 2 && document.querySelector('#chart canvas'));
  const barsBefore = Number(await page.locator('#chart').getAttribute('data-bars'));
  await page.waitForFunction((n) => Number(document.querySelector('#chart').dataset.bars) > n || n >= 600, barsBefore);
  result.live_symbol = 'SIM-A';
  result.prices_seen = seen;
  await screenshot('live-prices');
  ok(`SIM-A quotes ${seen.join(' -> ')}, candlestick chart with ${barsBefore}+ bars growing live`);

  step = 'reconnect';
  // The socket drops: the page reconnects, subscribes again, prices move on.
  const updates = await page.evaluate(() => {
    const n = Number(document.querySelector('.quote[data-symbol="SIM-A"]').dataset.updates);
    window.trader.live.ws.close();
    return n;
  });
  await page.waitForSelector('#ws-state.closed, #ws-state.connecting');
  await page.waitForSelector('#ws-state.open');
  await page.waitForFunction((n) => Number(document.querySelector('.quote[data-symbol="SIM-A"]').dataset.updates) >= n + 3, updates);
  ok('socket closed, reconnected with back-off, subscriptions renewed, quotes flowing again');

  step = 'limit-order';
  const last = Number(seen[seen.length - 1]);
  const limit = (Math.floor(last * 0.5 * 100) / 100).toFixed(2);
  const ticket = page.locator('#ticket');
  await ticket.locator('[name=account]').selectOption('paper');
  await ticket.locator('[name=symbol]').selectOption('SIM-A');
  await ticket.locator('[name=side]').selectOption('buy');
  await ticket.locator('[name=type]').selectOption('limit');
  await ticket.locator('[name=qty]').fill('5');
  await ticket.locator('[name=limit_price]').fill(limit);
  await ticket.locator('[name=tif]').selectOption('GTC');
  await page.click('[data-testid=submit-order]');
  await page.waitForFunction(() => /: (accepted|new)/.test(document.querySelector('#ticket-msg').textContent));
  const limitId = await page.locator('#ticket-msg').getAttribute('data-order');
  const row = page.locator(`#orders tr[data-order="${limitId}"]`);
  await row.waitFor();
  await screenshot('limit-order-open');
  await row.locator('button[data-cancel]').click();
  await row.waitFor({ state: 'detached' });
  result.limit_order = limitId;
  await screenshot('limit-order-canceled');
  ok(`buy 5 SIM-A limit ${limit} (${limitId}) shown as open, canceled from its row`);

  step = 'market-order';
  await ticket.locator('[name=type]').selectOption('market');
  await ticket.locator('[name=qty]').fill('10');
  await page.click('[data-testid=submit-order]');
  await page.waitForFunction((prev) => {
    const m = document.querySelector('#ticket-msg');
    return m.dataset.order && m.dataset.order !== prev && /: (accepted|new|filled)/.test(m.textContent);
  }, limitId);
  const marketId = await page.locator('#ticket-msg').getAttribute('data-order');
  const fill = page.locator(`#fills tr[data-order="${marketId}"]`);
  await fill.waitFor();
  const fillText = (await fill.innerText()).replace(/\s+/g, ' ');
  const position = page.locator('#positions tr[data-account="paper"][data-symbol="SIM-A"]');
  await position.waitFor();
  await page.waitForFunction(() => {
    const r = document.querySelector('#positions tr[data-account="paper"][data-symbol="SIM-A"]');
    return r && Number(r.children[2].textContent) === 10;
  });
  const positionText = (await position.innerText()).replace(/\s+/g, ' ');
  result.market_order = marketId;
  result.position_qty = '10';
  await screenshot('market-order-filled');
  ok(`buy 10 SIM-A market (${marketId}): fill "${fillText}", position "${positionText}"`);

  step = 'strategy';
  const sf = page.locator('#strategy-form');
  await sf.locator('[name=id]').fill('e2e-sma');
  await sf.locator('[name=kind]').selectOption('sma_cross');
  await sf.locator('[name=p_fast]').fill('3');
  await sf.locator('[name=p_slow]').fill('8');
  await sf.locator('[name=symbols]').fill('SIM-B');
  await sf.locator('[name=timeframe]').fill('1s');
  await sf.locator('[name=mode]').selectOption('paper');
  await sf.locator('[name=account]').selectOption('paper');
  await sf.locator('[name=qty]').fill('1');
  await page.click('[data-testid=start-strategy]');
  const srow = page.locator('#strategies tr[data-strategy="e2e-sma"][data-state="running"]');
  await srow.waitFor();
  const srowText = (await srow.innerText()).replace(/\s+/g, ' ');
  if (!srowText.includes('fast=3') || !srowText.includes('slow=8')) throw new Error(`parameters not shown: ${srowText}`);
  result.strategy = 'e2e-sma';
  await screenshot('strategy-running');
  ok(`strategy e2e-sma started: "${srowText}"`);

  step = 'backtest';
  const bf = page.locator('#backtest-form');
  await bf.locator('[name=kind]').selectOption('sma_cross');
  await bf.locator('[name=b_fast]').fill('10');
  await bf.locator('[name=b_slow]').fill('20');
  await bf.locator('[name=symbol]').selectOption('GOOG');
  await bf.locator('[name=timeframe]').fill('1d');
  await bf.locator('[name=cash]').fill('10000');
  await bf.locator('[name=commission]').fill('0.002');
  await page.click('[data-testid=run-backtest]');
  const trades = page.locator('#backtest-results td[data-stat="trades"]');
  await trades.waitFor();
  result.backtest_trades = Number(await trades.innerText());
  result.backtest_return_pct = await page.locator('#backtest-results td[data-stat="return_pct"]').innerText();
  await page.waitForSelector('#report:not([hidden])');
  result.report_title = await page.locator('#report').getAttribute('data-title');
  const frame = page.frameLocator('#report');
  await frame.locator('svg.price').waitFor();
  result.report_entries = await frame.locator('svg.price .entry').count();
  await page.locator('#backtest-panel').scrollIntoViewIfNeeded();
  await screenshot('backtest-report');
  ok(`GOOG sma_cross 10/20: ${result.backtest_trades} trades, return ${result.backtest_return_pct} %, report "${result.report_title}" with ${result.report_entries} entry markers`);

  step = 'sweep';
  await bf.locator('[name=grid]').fill('fast=5,10;slow=20,30');
  await bf.locator('[name=objective]').selectOption('return_pct');
  await page.click('[data-testid=run-sweep]');
  await page.waitForFunction(() => /sweep \S+: 4\/4 done/.test(document.querySelector('#backtest-msg').textContent));
  const progress = await page.locator('#backtest-progress').evaluate((p) => [p.value, p.max]);
  if (progress[0] !== 4 || progress[1] !== 4) throw new Error(`progress ${progress}`);
  result.sweep_rows = await page.locator('#backtest-results tbody tr').count();
  result.sweep_best = (await page.locator('#backtest-results tbody tr').first().locator('td').first().innerText()).trim();
  // The report of a sweep result: run again with its parameters, named in the title.
  const before = await page.locator('#report').getAttribute('data-title');
  await page.locator('#backtest-results tbody tr').first().locator('button[data-report]').click();
  await page.waitForFunction((t) => document.querySelector('#report').dataset.title !== t, before);
  result.sweep_report_title = await page.locator('#report').getAttribute('data-title');
  await screenshot('sweep-done');
  ok(`grid sweep fast=5,10 × slow=20,30: progress 4/4, ${result.sweep_rows} results, best ${result.sweep_best}, its report "${result.sweep_report_title}"`);

  step = 'risk';
  const card = page.locator('#risk .risk-card[data-account="paper"]');
  await card.locator('[name=reason]').fill('e2e lunch');
  await card.locator('button', { hasText: 'halt' }).click();
  await page.locator('#risk .risk-card[data-account="paper"][data-state="HALTED"]').waitFor();
  await page.locator('#alerts li', { hasText: 'paper' }).first().waitFor();
  result.alert = (await page.locator('#alerts li').first().innerText()).replace(/\s+/g, ' ');
  await screenshot('risk-halted');
  await page.locator('#risk .risk-card[data-account="paper"] button', { hasText: 'resume' }).click();
  await page.locator('#risk .risk-card[data-account="paper"][data-state="ACTIVE"]').waitFor();
  await page.locator('#risk .risk-card[data-account="paper"] [name=max_order_qty]').fill('1000');
  await page.locator('#risk .risk-card[data-account="paper"] [name=max_open_orders]').fill('50');
  await page.locator('#risk .risk-card[data-account="paper"] button', { hasText: 'save limits' }).click();
  await page.waitForFunction(() => /limits saved/.test(document.querySelector('#risk .risk-card[data-account="paper"] [data-testid=risk-msg]')?.textContent || ''));
  ok(`paper halted (alert "${result.alert}") and resumed from the risk panel; limits max_order_qty 1000, max_open_orders 50 saved`);

  step = 'reopen';
  // Opened again (a reload, the key no longer in the URL): the state comes back
  // from REST, the equity curve from the account's history.
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await page.waitForSelector('#ws-state.open');
  await page.locator(`#fills tr[data-order="${marketId}"]`).waitFor();
  await page.locator('#positions tr[data-account="paper"][data-symbol="SIM-A"]').waitFor();
  await page.locator('#strategies tr[data-strategy="e2e-sma"][data-state="running"]').waitFor();
  await page.waitForFunction(() => Number(document.querySelector('#equity').dataset.points || 0) >= 3);
  result.equity_points = Number(await page.locator('#equity').getAttribute('data-points'));
  ok(`after a reload (key from sessionStorage): fill, position and strategy shown again, equity curve of ${result.equity_points} points from the account's history`);

  step = 'health';
  await page.waitForSelector('#services tr[data-service="gateway"]');
  result.services = await page.locator('#services tr[data-service]').evaluateAll((rows) => [...new Set(rows.map((r) => r.dataset.service))].sort());
  // With a monitor running, the panel reads monitor.status: durable consumers too.
  await page.waitForSelector('#services[data-source="monitor"] tr[data-consumer="execution-signals"]');
  result.consumers = await page.locator('#services tr[data-consumer]').evaluateAll((rows) => rows.map((r) => r.dataset.consumer).sort());
  ok(`services panel (from the monitor) lists ${result.services.join(', ')}; consumers ${result.consumers.join(', ')}`);

  if (viewerKey) {
    step = 'viewer';
    // Another tab with a read-only key: it sees the same platform, and the
    // platform refuses its orders (403 shown) while admin controls are absent.
    const viewer = await context.newPage();
    viewer.setDefaultTimeout(STEP);
    viewer.on('pageerror', (e) => pageErrors.push(`viewer: ${e}`));
    await viewer.goto(`${url}/?key=${encodeURIComponent(viewerKey)}`);
    await viewer.waitForSelector('body[data-ready="true"]');
    await viewer.locator('#positions tr[data-account="paper"][data-symbol="SIM-A"]').waitFor();
    await viewer.locator('#risk .risk-card[data-account="paper"][data-state="ACTIVE"]').waitFor();
    const adminButtons = await viewer.locator('#risk button').count();
    if (adminButtons) throw new Error(`a viewer sees ${adminButtons} risk buttons`);
    await viewer.locator('#ticket [name=symbol]').selectOption('SIM-A');
    await viewer.locator('#ticket [name=qty]').fill('1');
    await viewer.click('[data-testid=submit-order]');
    await viewer.waitForFunction(() => /^403/.test(document.querySelector('#ticket-msg').textContent));
    result.viewer_order = await viewer.locator('#ticket-msg').innerText();
    await viewer.screenshot({ path: join(artifacts, 'viewer.png'), fullPage: true });
    await viewer.close();
    ok(`a viewer tab sees positions and risk state, no admin controls, and its order is refused: "${result.viewer_order}"`);
  }

  step = 'page-errors';
  if (pageErrors.length) throw new Error(pageErrors.join('\n'));
  if (requestsOut.length) throw new Error(`requests beyond the gateway: ${requestsOut.join(', ')}`);
  await screenshot('dashboard');
  ok('no script errors, no request beyond the gateway');
  console.log(`RESULT ${JSON.stringify(result)}`);
  await finish(0);
} catch (e) {
  let file = '';
  try { file = await screenshot(`failed-${step}`); } catch { /* the page may be gone */ }
  console.log(`FAIL ${step}: ${String(e && e.message ? e.message : e).split('\n').slice(0, 8).join(' | ')}${file ? ` (screenshot ${file})` : ''}`);
  if (pageErrors.length) console.log(`page errors: ${pageErrors.join(' | ')}`);
  await finish(1);
}
