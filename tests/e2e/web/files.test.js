// Browser end-to-end test of shared files in hibiki's web client: three users (alice an admin, bob
// a member, carol read-only) in chromium against a real hibikid. Uploads by the file picker and by
// a drop (several files at once), the PUT straight to the signed URL with its progress, the card
// that appears live on the other pages, downloads compared byte for byte, the files pane and its
// uploader filter, and the refusals: read-only, too large, a bad name, a PUT the store refuses.
//
//   node files.test.js            the default store (hibikid's own listener serves the URLs)
//   node files.test.js --s3       MinIO of the CTest `minio` fixture (HIBIKI_TEST_MINIO_DIR): the
//                                 page PUTs cross-origin, so the store's CORS is exercised. hibikid
//                                 and the pages reach MinIO through a TCP proxy of this test, which
//                                 cuts the store off for a moment (a real `unavailable`).
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { STEP_TIMEOUT_MS, log, check, until, signUp, roomItem, openRoom, run } = require('./harness');

const MAX_FILE_SIZE = 1500000;  // hibikid's --max-file-size here
const onS3 = process.argv.includes('--s3');

// The MinIO of the `minio` fixture: its endpoint, and the flags for its bucket and credentials.
function minioFlags() {
  const dir = process.env.HIBIKI_TEST_MINIO_DIR;
  if (!dir) throw new Error('--s3 needs HIBIKI_TEST_MINIO_DIR (CTest sets it with the minio fixture)');
  const read = (name) => fs.readFileSync(path.join(dir, name), 'utf8').trim();
  const endpoint = read('endpoint');
  return {
    endpoint,
    args: [`--s3-bucket=${read('bucket')}`,
      `--s3-credentials-file=${path.join(dir, 'credentials')}`],
  };
}
const minio = onS3 ? minioFlags() : null;

// A byte-for-byte TCP proxy to `target` (http://127.0.0.1:PORT) on a free port: what passes is
// MinIO's own answer (CORS included). setDown(true) resets its connections and every new one:
// the store is gone for whoever uses the proxy's address.
function startStoreProxy(target) {
  const upstreamPort = Number(new URL(target).port);
  const sockets = new Set();
  let down = false;
  const server = net.createServer((client) => {
    if (down) { client.resetAndDestroy(); return; }
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    const pair = [client, upstream];
    for (const sock of pair) {
      sockets.add(sock);
      sock.on('error', () => pair.forEach((x) => x.destroy()));
      sock.on('close', () => { sockets.delete(sock); pair.forEach((x) => x.destroy()); });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({
      url: `http://127.0.0.1:${server.address().port}`,
      setDown(value) {
        down = value;
        if (down) for (const sock of sockets) sock.resetAndDestroy();
      },
    }));
  });
}
let storeProxy = null;  // in --s3 mode

// Waits for a promise of the test's own, at most STEP_TIMEOUT_MS.
async function within(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for: ${what}`)), STEP_TIMEOUT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// Waits until fn() (run here, on what the test recorded from the browser's events) is true.
async function eventually(fn, what) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const sha256 = (bytes) => crypto.createHash('sha256').update(bytes).digest('hex');

// Seeded bytes (not all zeros, so a mix-up of files or offsets shows in the hash).
function bytesOf(size, seed) {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

// ---- page helpers ------------------------------------------------------------------------------

// Picks files with the "Files…" button's file chooser (playwright's setFiles on the real picker).
async function pickFiles(page, files) {
  const [chooser] = await Promise.all([
    page.waitForEvent('filechooser', { timeout: STEP_TIMEOUT_MS }),
    page.click('#attach-btn'),
  ]);
  check(chooser.isMultiple(), 'the file picker takes several files');
  await chooser.setFiles(files.map((f) => ({ name: f.name, mimeType: f.type, buffer: f.bytes })));
}

// Drags files over the room and drops them: a DataTransfer with File objects, dispatched as the
// browser does (dragenter, dragover, drop). Answers whether the drop hint showed while dragging
// and was gone after the drop.
async function dropFiles(page, files) {
  return page.evaluate((list) => {
    const dt = new DataTransfer();
    for (const f of list) {
      const bytes = Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], f.name, { type: f.type }));
    }
    const target = document.querySelector('#messages');
    const fire = (type) => target.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    fire('dragenter');
    const accepted = !fire('dragover');  // the page called preventDefault: a drop is welcome
    const hintWhileDragging = !document.querySelector('#drop-hint').hidden;
    fire('drop');
    return { accepted, hintWhileDragging, hintAfter: !document.querySelector('#drop-hint').hidden };
  }, files.map((f) => ({ name: f.name, type: f.type, base64: f.bytes.toString('base64') })));
}

// Waits until the upload row of `name` is done or failed and checks it is in `state`; answers
// what the row shows.
async function uploadReaches(page, name, state) {
  const handle = await until(page, `upload of "${name}" ${state}`, ([n, s]) => {
    const li = [...document.querySelectorAll('#upload-list li[data-test="upload"]')]
      .find((x) => x.dataset.name === n);
    if (!li || (li.dataset.state !== s && li.dataset.state !== 'done' && li.dataset.state !== 'error')) return null;
    const bar = li.querySelector('[data-test="upload-progress"]');
    const error = li.querySelector('[data-test="upload-error"]');
    return { state: li.dataset.state, fileId: li.dataset.fileId || null, value: bar.value, max: bar.max,
      percent: li.querySelector('[data-test="upload-percent"]').textContent,
      error: error ? error.textContent : '', retry: !!li.querySelector('[data-test="upload-retry"]') };
  }, [name, state]);
  const row = await handle.jsonValue();
  check(row.state === state, `upload of "${name}" is ${state} (it is ${row.state}: ${row.error})`);
  return row;
}

// Records every state and progress value the upload rows show (a MutationObserver sees each
// render, so a state that lasts a moment is not missed).
async function watchUploads(page) {
  await page.evaluate(() => {
    window.__uploads = [];
    new MutationObserver((records) => {
      for (const r of records) {
        const nodes = r.type === 'childList' ? [...r.addedNodes] : [r.target];
        for (const n of nodes) {
          if (n.dataset && n.dataset.test === 'upload') {
            window.__uploads.push({ name: n.dataset.name, state: n.dataset.state, loaded: Number(n.dataset.loaded) });
          }
        }
      }
    }).observe(document.querySelector('#upload-list'),
      { childList: true, subtree: true, attributes: true, attributeFilter: ['data-loaded'] });
  });
}

async function uploadHistory(page, name) {
  return page.evaluate((n) => window.__uploads.filter((u) => u.name === n), name);
}

// The card of the file named `name` in the open room's messages, once it shows its size.
async function cardOf(page, name) {
  const handle = await until(page, `a file card "${name}" with its size`, (n) => {
    const card = [...document.querySelectorAll('#messages [data-test="file-card"]')]
      .find((c) => c.querySelector('[data-test="file-name"]').textContent === n);
    if (!card || card.dataset.state !== 'known') return null;
    const size = card.querySelector('[data-test="file-size"]');
    return { fileId: Number(card.dataset.fileId), size: size.textContent, bytes: Number(size.dataset.bytes),
      messageId: card.closest('li[data-test="message"]').dataset.messageId,
      author: Number(card.closest('li[data-test="message"]').dataset.accountId) };
  }, name);
  return handle.jsonValue();
}

// The files pane's rows, newest first.
async function paneOf(page) {
  return page.$$eval('#file-list li[data-test="file"]', (lis) => lis.map((li) => ({
    fileId: Number(li.dataset.fileId),
    accountId: Number(li.dataset.accountId),
    name: li.querySelector('[data-test="file-name"]').textContent,
    size: li.querySelector('[data-test="file-size"]').textContent,
    uploader: li.querySelector('[data-test="file-uploader"]').textContent,
    time: li.querySelector('[data-test="file-time"]').textContent,
  })));
}

async function paneShows(page, what, names) {
  await until(page, `the files pane shows ${what}`, (want) => {
    const list = document.querySelector('#file-list');
    const got = [...list.querySelectorAll('[data-test="file-name"]')].map((e) => e.textContent);
    return list.dataset.loaded === 'true' && JSON.stringify(got) === JSON.stringify(want);
  }, names);
}

// Clicks a download button and answers the downloaded bytes and the name the browser gave them.
async function download(page, button) {
  const [dl] = await Promise.all([
    page.waitForEvent('download', { timeout: STEP_TIMEOUT_MS }),
    button.click(),
  ]);
  const failure = await dl.failure();
  check(failure === null, `the download finished (${failure})`);
  return { bytes: fs.readFileSync(await dl.path()), name: dl.suggestedFilename() };
}

// The download button of the first card showing `name`.
function cardButton(page, name) {
  return page.locator('#messages [data-test="file-card"]')
    .filter({ has: page.getByText(name, { exact: true }) })
    .locator('[data-test="file-download"]').first();
}

function paneButton(page, name) {
  return page.locator('#file-list li[data-test="file"]')
    .filter({ has: page.getByText(name, { exact: true }) })
    .locator('[data-test="file-download"]');
}

// ---- the scenario ------------------------------------------------------------------------------

async function scenario(browser, baseUrl, screenshotPath) {
  const pageErrors = [];
  const sentFrames = { alice: [], bob: [], carol: [], dave: [] };
  const puts = [];  // the upload PUTs the pages made: {who, url, status}
  // Alice's WebSocket passes through a route that can cut the store off just before a
  // complete_upload reaches hibikid (so the PUT itself went through).
  let cutStoreBeforeComplete = false;
  const newUser = async (name) => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
    if (name === 'alice' && onS3) {
      await context.routeWebSocket(/\/ws$/, (ws) => {
        const server = ws.connectToServer();
        ws.onMessage((message) => {
          if (cutStoreBeforeComplete && String(message).includes('"op":"complete_upload"')) {
            cutStoreBeforeComplete = false;
            storeProxy.setDown(true);
          }
          server.send(message);
        });
      });
    }
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    page.on('pageerror', (err) => pageErrors.push(`${name}: ${err.message}`));
    page.on('websocket', (ws) => ws.on('framesent', (f) => sentFrames[name].push(String(f.payload))));
    page.on('requestfinished', async (req) => {
      if (req.method() !== 'PUT') return;
      const res = await req.response().catch(() => null);
      puts.push({ who: name, url: req.url(), status: res ? res.status() : 0 });
    });
    return page;
  };
  const alice = await newUser('alice');
  const bob = await newUser('bob');
  const carol = await newUser('carol');
  const asksForDownloadUrl = (who) => sentFrames[who].filter((f) =>
    f.includes('"op":"get_file"') && f.includes('"download_url":true')).length;

  log(`store: ${onS3 ? `MinIO at ${minio.endpoint} through ${storeProxy.url} (cross-origin PUT)`
    : 'the directory store on hibikid\'s listener'}`);
  log('three users sign up; alice makes a room with bob, then adds carol read-only');
  const aliceId = await signUp(alice, baseUrl, 'alice');
  const bobId = await signUp(bob, baseUrl, 'bob');
  const carolId = await signUp(carol, baseUrl, 'carol');
  await alice.fill('#new-room-name', 'shared files');
  await alice.fill('#new-room-members', String(bobId));
  await alice.click('#create-room-btn');
  await until(alice, 'alice has "shared files" open', () =>
    document.querySelector('#room-title').textContent === 'shared files' &&
    document.querySelector('#messages').dataset.loaded === 'true');
  await alice.fill('#add-member-id', String(carolId));
  await alice.selectOption('#add-member-role', 'readonly');
  await alice.click('#add-member-btn');
  await bob.waitForSelector(roomItem('shared files'));
  await carol.waitForSelector(roomItem('shared files'));
  await openRoom(bob, 'shared files');
  await openRoom(carol, 'shared files');
  await until(carol, 'carol is read-only in the room', () =>
    document.querySelector('#room-role').textContent === 'readonly');
  for (const page of [alice, bob, carol]) {
    await until(page, 'an empty files pane', () =>
      document.querySelector('#file-list').dataset.loaded === 'true' &&
      document.querySelector('#file-list').children.length === 0 && !document.querySelector('#no-files').hidden);
    await watchUploads(page);
  }

  log('alice picks a file with the button: request_upload, PUT with progress, complete_upload');
  const report = { name: '報告 2026.bin', type: 'application/octet-stream', bytes: bytesOf(1400000, 7) };
  await pickFiles(alice, [report]);
  const reportDone = await uploadReaches(alice, report.name, 'done');
  check(reportDone.value === report.bytes.length && reportDone.max === report.bytes.length &&
    reportDone.percent === '100%', `the progress bar is full (${JSON.stringify(reportDone)})`);
  const reportSeen = await uploadHistory(alice, report.name);
  const states = [...new Set(reportSeen.map((u) => u.state))];
  check(JSON.stringify(states) === JSON.stringify(['queued', 'requesting', 'uploading', 'completing', 'done']),
    `the upload went through every state in order (${JSON.stringify(states)})`);
  const progress = reportSeen.filter((u) => u.state === 'uploading').map((u) => u.loaded);
  check(progress.every((v, i) => i === 0 || v >= progress[i - 1]) && progress[progress.length - 1] === report.bytes.length,
    `progress rose to the file's size while uploading (${progress.join(', ')})`);
  await eventually(() => puts.some((p) => p.who === 'alice'), 'the PUT seen finished');
  const alicePuts = puts.filter((p) => p.who === 'alice');
  check(alicePuts.length === 1 && alicePuts[0].status === 200, `one PUT, answered 200 (${JSON.stringify(alicePuts)})`);
  const putOrigin = new URL(alicePuts[0].url).origin;
  if (onS3) {
    check(putOrigin === new URL(storeProxy.url).origin && putOrigin !== new URL(baseUrl).origin,
      `the bytes went cross-origin to MinIO (${putOrigin}), not to hibikid (${baseUrl})`);
  } else {
    check(putOrigin === new URL(baseUrl).origin, `the bytes went to hibikid's own listener (${putOrigin})`);
  }
  const aliceCard = await cardOf(alice, report.name);
  check(aliceCard.author === aliceId && aliceCard.bytes === report.bytes.length && aliceCard.size === '1.3 MiB',
    `alice's own page shows the card with its size (${JSON.stringify(aliceCard)})`);

  log('bob\'s page shows the card live, and the files pane lists it');
  const bobCard = await cardOf(bob, report.name);
  check(bobCard.fileId === aliceCard.fileId && bobCard.size === '1.3 MiB' && bobCard.author === aliceId,
    `bob sees alice's file card (${JSON.stringify(bobCard)})`);
  await paneShows(bob, 'the report', [report.name]);
  const bobPane = await paneOf(bob);
  check(bobPane[0].uploader === 'alice' && bobPane[0].size === '1.3 MiB' && bobPane[0].time !== '' &&
    bobPane[0].accountId === aliceId, `the pane names the uploader, size and time (${JSON.stringify(bobPane[0])})`);
  await paneShows(carol, 'the report', [report.name]);

  log('bob downloads it from the card: the URL is asked at the click, the bytes are the same');
  check(asksForDownloadUrl('bob') === 0, 'no download URL is asked before a click');
  const got = await download(bob, cardButton(bob, report.name));
  await eventually(() => asksForDownloadUrl('bob') >= 1, 'the get_file frame seen sent');
  check(asksForDownloadUrl('bob') === 1, 'the click asked for one download URL');
  check(got.bytes.length === report.bytes.length && sha256(got.bytes) === sha256(report.bytes),
    `the downloaded bytes are the uploaded ones (${got.bytes.length} bytes)`);
  check(got.name === report.name, `the download is named "${report.name}" (got "${got.name}")`);

  log('bob drops two files at once on the room: one request_upload per file');
  const notes = { name: 'notes.txt', type: 'text/plain', bytes: Buffer.from('first line\nsecond line, ünïcode\n') };
  const table = { name: 'table [v2].csv', type: 'text/csv', bytes: bytesOf(300000, 11) };
  const dropped = await dropFiles(bob, [notes, table]);
  check(dropped.accepted && dropped.hintWhileDragging && !dropped.hintAfter,
    `the room takes the drop and hints while dragging (${JSON.stringify(dropped)})`);
  await uploadReaches(bob, notes.name, 'done');
  await uploadReaches(bob, table.name, 'done');
  await eventually(() => sentFrames.bob.filter((f) => f.includes('"op":"request_upload"')).length >= 2,
    'bob\'s request_upload frames seen sent');
  check(sentFrames.bob.filter((f) => f.includes('"op":"request_upload"')).length === 2,
    'two files, two request_upload');
  const notesCard = await cardOf(alice, notes.name);
  const tableCard = await cardOf(alice, table.name);
  check(notesCard.author === bobId && tableCard.author === bobId && notesCard.size === `${notes.bytes.length} B` &&
    tableCard.size === '293 KiB', `alice sees bob's two cards live (${JSON.stringify([notesCard, tableCard])})`);
  // Both started at once: which got the lower file id is the server's order.
  const bobsNewestFirst = tableCard.fileId > notesCard.fileId ? [table.name, notes.name] : [notes.name, table.name];
  await paneShows(alice, 'three files, newest first', [...bobsNewestFirst, report.name]);

  log('alice downloads bob\'s notes from the files pane');
  const gotNotes = await download(alice, paneButton(alice, notes.name));
  check(gotNotes.bytes.equals(notes.bytes), 'the notes came back byte for byte');

  log('a message that only names a file shows the server\'s name for it; inside [code] the tag stays text');
  const tag = `[download:${notesCard.fileId}]`;
  for (const body of [`[code]${tag}x[/download][/code]`, `${tag}harmless.pdf[/download]`]) {
    await bob.fill('#composer-input', body);
    await bob.click('#send-btn');
  }
  await until(alice, 'the [code] message shows the tag as written, without a card', (t) =>
    [...document.querySelectorAll('#messages [data-test="cw-code"]')]
      .some((pre) => pre.textContent === t && !pre.closest('li').querySelector('[data-test="file-card"]')),
  `${tag}x[/download]`);
  await until(alice, 'two known cards of the notes (bob\'s upload and the message naming it)', (n) =>
    [...document.querySelectorAll('#messages [data-test="file-card"][data-state="known"]')]
      .filter((c) => c.querySelector('[data-test="file-name"]').textContent === n).length === 2, notes.name);
  check(!(await alice.textContent('#messages')).includes('harmless.pdf'),
    'the name typed in the message is not what the card shows');

  log('the pane filters by uploader (list_files account_id)');
  await alice.selectOption('#file-filter', String(bobId));
  await until(alice, 'only bob\'s files', (id) => {
    const rows = [...document.querySelectorAll('#file-list li[data-test="file"]')];
    return document.querySelector('#file-list').dataset.loaded === 'true' && rows.length === 2 &&
      rows.every((r) => r.dataset.accountId === String(id));
  }, bobId);
  check(await alice.$eval('#file-filter', (s) => s.selectedOptions[0].textContent) === 'bob\'s files',
    'the filter names bob');
  await alice.selectOption('#file-filter', String(aliceId));
  await paneShows(alice, 'only alice\'s file', [report.name]);
  await alice.selectOption('#file-filter', '');
  await until(alice, 'all three files again', () =>
    document.querySelector('#file-list').dataset.loaded === 'true' &&
    document.querySelectorAll('#file-list li[data-test="file"]').length === 3);

  log('carol, read-only, is refused with the server\'s message; her page keeps working');
  const carolFile = { name: 'carol.txt', type: 'text/plain', bytes: Buffer.from('may I?') };
  await pickFiles(carol, [carolFile]);
  const refused = await uploadReaches(carol, carolFile.name, 'error');
  check(refused.error.startsWith('forbidden: ') && refused.error.includes('read-only'),
    `carol's upload row says why (${refused.error})`);
  await until(carol, 'the status line shows the refusal', () => {
    const s = document.querySelector('#status');
    return s.dataset.kind === 'error' && s.textContent.includes('forbidden') && s.textContent.includes('carol.txt');
  });
  check(puts.filter((p) => p.who === 'carol').length === 0, 'carol\'s page PUT nothing');
  const carolGot = await download(carol, cardButton(carol, notes.name));
  check(carolGot.bytes.equals(notes.bytes), 'a read-only member still downloads');

  log('a file over --max-file-size is refused as too_large; the next upload works');
  const big = { name: 'too big.bin', type: 'application/octet-stream', bytes: bytesOf(MAX_FILE_SIZE + 1, 3) };
  await pickFiles(alice, [big]);
  const tooBig = await uploadReaches(alice, big.name, 'error');
  check(tooBig.error.startsWith('too_large: ') && tooBig.error.includes(String(MAX_FILE_SIZE)),
    `the row says the file is too large (${tooBig.error})`);
  check(tooBig.retry, 'a failed upload offers a retry');

  log('a name with markup is shown as text everywhere; a name with a control character gets the server\'s message');
  const markupName = '<img src=x onerror="window.__xss=1"><b>bold.txt';
  const controlName = 'bell\u0007name.txt';
  await dropFiles(alice, [
    { name: markupName, type: 'text/html', bytes: Buffer.from('<script>window.__xss=2</script>') },
    { name: controlName, type: 'text/plain', bytes: Buffer.from('ding') },
    { name: 'empty.txt', type: 'text/plain', bytes: Buffer.alloc(0) },
    { name: 'invoice\u202Efdp.exe', type: 'application/octet-stream', bytes: Buffer.from('MZ') },
  ]);
  await uploadReaches(alice, markupName, 'done');
  const bell = await uploadReaches(alice, controlName, 'error');
  check(bell.error === 'bad_request: filename must not contain control characters',
    `the server's refusal of the name is shown (${bell.error})`);
  const empty = await uploadReaches(alice, 'empty.txt', 'error');
  check(empty.error === 'bad_request: size must be at least 1 byte' && empty.percent === '0%',
    `an empty file is refused (${JSON.stringify(empty)})`);
  // A bidi override could show "invoice\u202Efdp.exe" as "invoiceexe.pdf": the server refuses it.
  const invoice = await uploadReaches(alice, 'invoice\u202Efdp.exe', 'error');
  check(invoice.error.startsWith('bad_request: filename must not contain bidirectional control characters'),
    `the server's refusal of a bidi override is shown (${invoice.error})`);
  const markupCard = await cardOf(bob, markupName);
  await until(bob, 'the markup name in bob\'s pane', (n) =>
    [...document.querySelectorAll('#file-list [data-test="file-name"]')].some((e) => e.textContent === n), markupName);
  for (const page of [alice, bob]) {
    const injected = await page.evaluate(() => ({
      xss: window.__xss !== undefined,
      tags: document.querySelectorAll('#messages img, #messages b, #file-list img, #file-list b, #upload-list img, #upload-list b').length,
    }));
    check(!injected.xss && injected.tags === 0, `a file name with markup stays text (${JSON.stringify(injected)})`);
  }
  const gotMarkup = await download(bob, cardButton(bob, markupName));
  check(gotMarkup.bytes.toString() === '<script>window.__xss=2</script>', 'the markup file downloads as bytes');
  check(await bob.evaluate(() => window.__xss === undefined), 'downloading it ran nothing');

  log('a PUT the store refuses shows its answer; retry asks for a new URL and succeeds');
  const flaky = { name: 'flaky.bin', type: 'application/octet-stream', bytes: bytesOf(50000, 5) };
  const spoil = (route) => {
    const url = new URL(route.request().url());
    const sig = url.searchParams.get('X-Amz-Signature');
    url.searchParams.set('X-Amz-Signature', (sig[0] === '0' ? '1' : '0') + sig.slice(1));
    return route.continue({ url: url.toString() });
  };
  const signed = (url) => url.searchParams.has('X-Amz-Signature');
  await alice.route(signed, spoil);
  await pickFiles(alice, [flaky]);
  const spoiled = await uploadReaches(alice, flaky.name, 'error');
  check(spoiled.error.startsWith('the file store refused the upload (HTTP 403)'),
    `the store's refusal is shown (${spoiled.error})`);
  await alice.unroute(signed, spoil);
  log('a store the browser cannot reach shows as such');
  const unreachable = { name: 'unreachable.bin', type: 'application/octet-stream', bytes: bytesOf(1000, 9) };
  const refuse = (route) => route.abort('connectionrefused');
  await alice.route(signed, refuse);
  await pickFiles(alice, [unreachable]);
  const cut = await uploadReaches(alice, unreachable.name, 'error');
  check(cut.error.startsWith('the file store could not be reached'), `the row says so (${cut.error})`);
  await alice.unroute(signed, refuse);

  if (onS3) {
    log('the store goes away between the PUT and complete_upload: unavailable, shown, retried; chat goes on');
    const outage = { name: 'outage.bin', type: 'application/octet-stream', bytes: bytesOf(80000, 19) };
    cutStoreBeforeComplete = true;
    await pickFiles(alice, [outage]);
    const note = await until(alice, 'the row says the store is unavailable', () => {
      const li = document.querySelector('#upload-list li[data-name="outage.bin"]');
      return li && li.dataset.state === 'completing' && (li.dataset.note || '').includes('unavailable')
        ? li.dataset.note : null;
    });
    log(`  the row says: ${await note.jsonValue()}`);
    await alice.fill('#composer-input', 'the chat works while the store is away');
    await alice.click('#send-btn');
    await until(bob, 'bob gets alice\'s message meanwhile', () =>
      [...document.querySelectorAll('[data-test="message-body"]')]
        .some((b) => b.textContent === 'the chat works while the store is away'));
    storeProxy.setDown(false);
    await uploadReaches(alice, outage.name, 'done');
    const outageCard = await cardOf(bob, outage.name);
    const gotOutage = await download(bob, cardButton(bob, outage.name));
    check(sha256(gotOutage.bytes) === sha256(outage.bytes) && outageCard.author === aliceId,
      'the upload completed once the store was back, intact');
  }

  log('an upload held on the wire can be cancelled');
  const held = [];
  let heldNow;
  const heldOnce = new Promise((resolve) => { heldNow = resolve; });
  // Neither continued nor answered: the PUT waits on the wire.
  const hold = (route) => { held.push(route); heldNow(); };
  await alice.route(signed, hold);
  const slow = { name: 'slow.bin', type: 'application/octet-stream', bytes: bytesOf(2000, 13) };
  await pickFiles(alice, [slow]);
  await within(heldOnce, 'the PUT reaching the route');
  await until(alice, 'the held upload is uploading', () => {
    const li = document.querySelector('#upload-list li[data-name="slow.bin"]');
    return li && li.dataset.state === 'uploading' && li.querySelector('[data-test="upload-cancel"]');
  });
  await alice.click('#upload-list li[data-name="slow.bin"] [data-test="upload-cancel"]');
  const cancelled = await uploadReaches(alice, slow.name, 'error');
  check(cancelled.error === 'cancelled' && cancelled.retry, `the row says cancelled (${JSON.stringify(cancelled)})`);
  for (const route of held) await route.abort().catch(() => {});
  await alice.unroute(signed, hold);
  await alice.locator('#upload-list li[data-test="upload"][data-name="flaky.bin"] [data-test="upload-retry"]').click();
  const retried = await uploadReaches(alice, flaky.name, 'done');
  check(retried.fileId !== null && Number(retried.fileId) !== Number(spoiled.fileId),
    `the retry uploaded under a new file id (${spoiled.fileId} → ${retried.fileId})`);
  await until(alice, 'the status line no longer shows the old failure', () =>
    document.querySelector('#status').dataset.kind !== 'error');
  const flakyCard = await cardOf(bob, flaky.name);
  const gotFlaky = await download(bob, cardButton(bob, flaky.name));
  check(sha256(gotFlaky.bytes) === sha256(flaky.bytes), 'the retried file downloads intact');

  log('alice deletes her report\'s message: the file leaves bob\'s pane live');
  await alice.click(`li[data-message-id="${aliceCard.messageId}"] [data-test="delete-btn"]`);
  await until(bob, 'the report gone from bob\'s pane and its message deleted', ([n, id]) =>
    ![...document.querySelectorAll('#file-list [data-test="file-name"]')].some((e) => e.textContent === n) &&
    document.querySelector(`li[data-message-id="${id}"]`).dataset.deleted === 'true', [report.name, aliceCard.messageId]);
  // Shared and not deleted, newest first (the outage upload only on S3).
  const left = [flaky.name, ...(onS3 ? ['outage.bin'] : []), markupName, ...bobsNewestFirst];
  check(JSON.stringify((await paneOf(bob)).map((f) => f.name)) === JSON.stringify(left),
    `bob's pane keeps the other files (${JSON.stringify(await paneOf(bob))})`);
  await until(alice, 'the report gone from alice\'s own pane too', (n) =>
    document.querySelectorAll('#file-list li[data-test="file"]').length === n, left.length);

  log('a reload lists the files again and cards show their sizes from list_files');
  await bob.reload();
  await until(bob, 'bob back online', () => document.querySelector('#conn-state').dataset.state === 'online');
  await openRoom(bob, 'shared files');
  await paneShows(bob, 'the same files after the reload', left);
  const again = await cardOf(bob, table.name);
  check(again.size === '293 KiB', `the card's size after a reload (${again.size})`);
  check(flakyCard.fileId === Number(retried.fileId) && markupCard.fileId > 0, 'card ids match the uploads');

  log('a page opened at localhost while the URLs name 127.0.0.1: the PUT and GET are cross-origin');
  const dave = await newUser('dave');
  const localBase = baseUrl.replace('//127.0.0.1:', '//localhost:');
  check(localBase !== baseUrl, `the page runs at ${localBase}`);
  await signUp(dave, localBase, 'dave');
  await dave.fill('#new-room-name', 'dave\'s room');
  await dave.click('#create-room-btn');
  await until(dave, 'dave has his room open', () =>
    document.querySelector('#room-title').textContent === 'dave\'s room' &&
    document.querySelector('#file-list').dataset.loaded === 'true');
  const local = { name: 'from localhost.bin', type: 'application/octet-stream', bytes: bytesOf(200000, 17) };
  await pickFiles(dave, [local]);
  await uploadReaches(dave, local.name, 'done');
  await eventually(() => puts.some((p) => p.who === 'dave'), 'dave\'s PUT seen finished');
  const davePut = puts.find((p) => p.who === 'dave');
  check(new URL(davePut.url).origin !== new URL(localBase).origin && davePut.status === 200,
    `dave's PUT went to another origin and was taken (${JSON.stringify(davePut)})`);
  await cardOf(dave, local.name);
  const gotLocal = await download(dave, cardButton(dave, local.name));
  check(sha256(gotLocal.bytes) === sha256(local.bytes) && gotLocal.name === local.name,
    `dave downloads it intact as "${gotLocal.name}"`);

  await alice.screenshot({ path: screenshotPath });
  log('"clear finished" empties alice\'s upload list');
  await alice.click('#uploads-clear');
  await until(alice, 'no upload rows, the uploads box hidden', () =>
    document.querySelectorAll('#upload-list li').length === 0 && document.querySelector('#uploads').hidden);
  log(`screenshot: ${screenshotPath}`);
  check(pageErrors.length === 0, `no uncaught errors in the pages: ${pageErrors.join('; ')}`);
}

(async () => {
  if (onS3) storeProxy = await startStoreProxy(minio.endpoint);
  run(onS3 ? 'files-s3' : 'files', scenario, { hibikidArgs: [`--max-file-size=${MAX_FILE_SIZE}`,
    ...(onS3 ? [...minio.args, `--s3-endpoint=${storeProxy.url}`] : [])] });
})();
