// Shared pieces of the browser end-to-end tests: starting hibikid on a free port, launching
// Debian's chromium through playwright-core, bounded waits and page helpers.
//
// Environment: HIBIKID (path of the hibikid binary; CTest sets it), CHROMIUM (default
// /usr/bin/chromium), HIBIKI_SCREENSHOT_DIR (default: the system temp dir).
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const STEP_TIMEOUT_MS = 15000;    // one expectation (a push arriving, a button appearing)
const START_TIMEOUT_MS = 30000;   // hibikid printing its "serving" line
const WATCHDOG_MS = 240000;       // the whole test, below CTest's 300 s

const repoRoot = path.resolve(__dirname, '..', '..', '..');

function findHibikid() {
  if (process.env.HIBIKID) return process.env.HIBIKID;
  for (const dir of ['build', 'build-web', 'build-e2e']) {
    for (const base of [repoRoot, path.dirname(repoRoot)]) {
      const candidate = path.join(base, dir, 'bin', 'hibikid');
      try { fs.accessSync(candidate, fs.constants.X_OK); return candidate; } catch { /* next */ }
    }
  }
  return null;
}

function log(...args) { console.log('[e2e-web]', ...args); }

// ---- hibikid ---------------------------------------------------------------------------------

// The running server, killed on any exit (the watchdog's included) so no hibikid outlives us.
let liveServer = null;
process.on('exit', () => { if (liveServer && liveServer.exitCode === null) liveServer.kill('SIGKILL'); });

function startHibikid(binary, dataDir, webRoot, extraArgs) {
  return new Promise((resolve, reject) => {
    // Sign-up is closed unless asked for; both browser users sign up from 127.0.0.1.
    const child = spawn(binary, ['--http=127.0.0.1:0', `--data-dir=${dataDir}`, `--web-root=${webRoot}`,
      '--open-signup=true', ...extraArgs],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    liveServer = child;
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hibikid did not print its serving line within ${START_TIMEOUT_MS} ms; output:\n${out}`));
    }, START_TIMEOUT_MS);
    const onData = (chunk) => {
      out += chunk.toString();
      const m = out.match(/hibikid: serving (http:\/\/[^\s]+)/);
      if (m) {
        clearTimeout(timer);
        child.stdout.removeListener('data', onData);
        // Keep draining output so the server never blocks on a full pipe.
        child.stdout.on('data', () => {});
        resolve({ child, url: m[1].replace(/\/$/, '') });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (c) => { process.stderr.write(`[hibikid] ${c}`); });
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`hibikid exited early (code ${code}, signal ${sig}); output:\n${out}`));
    });
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
  });
}

function stopHibikid(child) {
  return new Promise((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) { resolve(); return; }
    const killer = setTimeout(() => child.kill('SIGKILL'), 10000);
    child.once('exit', () => { clearTimeout(killer); resolve(); });
    child.kill('SIGTERM');
  });
}

// ---- assertions --------------------------------------------------------------------------------

function check(cond, message) {
  if (!cond) throw new Error(`check failed: ${message}`);
}

// Waits until fn() (run in the page) returns a truthy value.
async function until(page, what, fn, arg) {
  try {
    return await page.waitForFunction(fn, arg, { timeout: STEP_TIMEOUT_MS, polling: 50 });
  } catch (err) {
    throw new Error(`timed out waiting for: ${what} (${err.message.split('\n')[0]})`);
  }
}

// ---- page helpers --------------------------------------------------------------------------------

async function signUp(page, baseUrl, name) {
  await page.goto(baseUrl + '/', { timeout: STEP_TIMEOUT_MS });
  await page.fill('#signup-name', name);
  await page.click('#signup-btn');
  await until(page, `${name} online`, () =>
    document.querySelector('#conn-state').dataset.state === 'online' &&
    document.querySelector('#me-account-id').textContent !== '');
  const id = Number(await page.textContent('#me-account-id'));
  check(Number.isInteger(id) && id > 0, `${name} shows a numeric account id (got ${id})`);
  const stored = await page.evaluate(() => localStorage.getItem('hibiki.token'));
  check(typeof stored === 'string' && stored.length >= 16, `${name}'s token is in localStorage`);
  return id;
}

function roomItem(roomName) {
  return `li[data-test="room-item"]:has([data-test="room-name"]:text-is("${roomName}"))`;
}

async function openRoom(page, roomName) {
  await page.click(`${roomItem(roomName)} [data-test="room-open"]`, { timeout: STEP_TIMEOUT_MS });
  await until(page, `room ${roomName} open and loaded`, (n) =>
    document.querySelector('#room-title').textContent === n &&
    document.querySelector('#messages').dataset.loaded === 'true', roomName);
}

async function send(page, text) {
  await page.fill('#composer-input', text);
  await page.click('#send-btn');
  await until(page, `own message "${text}" shown`, (t) =>
    [...document.querySelectorAll('li[data-test="message"][data-mine="true"] [data-test="message-body"]')]
      .some((b) => b.textContent === t), text);
}

// The message id of the message whose body is `text`.
async function messageIdOf(page, text) {
  const handle = await until(page, `message "${text}" visible`, (t) => {
    const li = [...document.querySelectorAll('li[data-test="message"]')]
      .find((x) => x.querySelector('[data-test="message-body"]').textContent === t);
    return li ? li.dataset.messageId : null;
  }, text);
  return handle.jsonValue();
}

async function unreadOf(page, roomName) {
  return page.evaluate((n) => {
    const li = [...document.querySelectorAll('li[data-test="room-item"]')]
      .find((x) => x.querySelector('[data-test="room-name"]').textContent === n);
    if (!li) return null;
    const badge = li.querySelector('[data-test="unread-badge"]');
    return badge ? Number(badge.textContent) : 0;
  }, roomName);
}

async function main(name, scenario, options) {
  const binary = findHibikid();
  if (!binary) throw new Error('hibikid not found: set HIBIKID to its path');
  const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!fs.existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} not found: install it (scripts/install-deps --with-browser)`);
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hibiki-e2e-web-'));
  const screenshotDir = process.env.HIBIKI_SCREENSHOT_DIR || os.tmpdir();
  const screenshotPath = path.join(screenshotDir, `hibiki-e2e-web-${name}.png`);
  let server = null;
  let browser = null;
  try {
    server = await startHibikid(binary, dataDir, path.join(repoRoot, 'web'), options.hibikidArgs || []);
    log(`hibikid at ${server.url}`);
    // Playwright starts chromium with a fresh temporary --user-data-dir of its own (it refuses
    // one in args) and removes it on close; each newContext() is a separate profile in it.
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      timeout: START_TIMEOUT_MS,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    await scenario(browser, server.url, screenshotPath);
    log('PASS');
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (server) await stopHibikid(server.child);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/// Runs `scenario(browser, baseUrl, screenshotPath)` against a fresh hibikid and exits the process
/// with 0 on success, 1 on any failure or when the whole test overruns WATCHDOG_MS.
/// options.hibikidArgs: more hibikid flags (e.g. ['--max-file-size=1000']).
function run(name, scenario, options = {}) {
  const watchdog = setTimeout(() => {
    console.error(`[e2e-web] FAIL: the test did not finish within ${WATCHDOG_MS} ms`);
    process.exit(1);
  }, WATCHDOG_MS);

  main(name, scenario, options).then(() => {
    clearTimeout(watchdog);
    process.exit(0);
  }, (err) => {
    console.error(`[e2e-web] FAIL: ${err && err.stack ? err.stack : err}`);
    clearTimeout(watchdog);
    process.exit(1);
  });
}

module.exports = { STEP_TIMEOUT_MS, log, check, until, signUp, roomItem, openRoom, send, messageIdOf, unreadOf, run };
