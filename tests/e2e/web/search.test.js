// Browser end-to-end test of the web client's search box (web/search.js): alice posts a Japanese
// message with markup in it, then enough messages after it that it is not on the room's first
// page; bob (a member) searches a word of it from another room, sees the result with its room,
// author and snippet (the match in a <mark>, the markup as text), clicks it, and the room opens
// scrolled to that message, marked. Carol (not a member) finds nothing; an operator-laden query
// is no error.
// Exits non-zero on any failure; every wait is bounded and waits for elements, never for time.
'use strict';

const { STEP_TIMEOUT_MS, log, check, until, signUp, roomItem, openRoom, send, run } =
  require('./harness');

const FILLER = 60;  // more than one history page (50): the hit needs older pages loaded

// Searches `q` until the results show `want` hits (the index follows the journal a little
// behind); each attempt waits for its own answer. Returns the summary line.
async function searchFor(page, q, want) {
  const deadline = Date.now() + 4 * STEP_TIMEOUT_MS;
  for (;;) {
    await page.fill('#search-input', q);
    await page.click('#search-btn');
    await until(page, `an answer to "${q}"`, () =>
      document.querySelector('#search-results').dataset.loaded === 'true' ||
      document.querySelector('#status').dataset.kind === 'error');
    const n = await page.$$eval('li[data-test="search-result"]', (xs) => xs.length);
    if (n === want) return page.textContent('#search-summary');
    if (Date.now() > deadline) throw new Error(`search "${q}": ${n} results, wanted ${want}`);
  }
}

async function scenario(browser, baseUrl, screenshotPath) {
  const pageErrors = [];
  const newUser = async (name) => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    page.on('pageerror', (err) => pageErrors.push(`${name}: ${err.message}`));
    return page;
  };
  const alice = await newUser('alice');
  const bob = await newUser('bob');
  const carol = await newUser('carol');
  await signUp(alice, baseUrl, 'alice');
  const bobId = await signUp(bob, baseUrl, 'bob');
  await signUp(carol, baseUrl, 'carol');

  log('alice makes a room with bob and posts the message to find, then more after it');
  await alice.fill('#new-room-name', 'travel');
  await alice.fill('#new-room-members', String(bobId));
  await alice.click('#create-room-btn');
  await until(alice, 'alice has "travel" open', () =>
    document.querySelector('#room-title').textContent === 'travel' &&
    document.querySelector('#messages').dataset.loaded === 'true');
  const target = '明日は東京都庁で会議 <b>bring</b> the map & tickets';
  await send(alice, target);
  for (let i = 0; i < FILLER; i++) await send(alice, `filler message ${i}`);

  log('bob, in his own chat, searches 都庁: one result with room, author and snippet');
  await bob.waitForSelector(roomItem('travel'));
  await openRoom(bob, 'My Chat');
  const summary = await searchFor(bob, '都庁', 1);
  check(summary.includes('1 message'), `the summary counts one message (got "${summary}")`);
  const hit = 'li[data-test="search-result"]';
  check(await bob.textContent(`${hit} [data-test="search-room"]`) === 'travel', 'the result names the room');
  check(await bob.textContent(`${hit} [data-test="search-author"]`) === 'alice', 'the result names the author');
  const marks = await bob.$$eval(`${hit} [data-test="search-snippet"] mark`, (xs) => xs.map((x) => x.textContent));
  check(marks.length > 0 && marks.join('').includes('都'), `the match is in a <mark> (got ${JSON.stringify(marks)})`);
  const snippetText = await bob.textContent(`${hit} [data-test="search-snippet"]`);
  check(snippetText.includes('<b>bring</b>') && snippetText.includes('&'),
    `the markup in the body is shown as text (got "${snippetText}")`);
  check((await bob.$$(`${hit} [data-test="search-snippet"] b`)).length === 0, 'no <b> element from the body');

  log('bob clicks it: the room opens at the message, older pages loaded, the message marked');
  await bob.click(`${hit} [data-test="search-open"]`);
  await until(bob, 'travel open with the hit marked', () =>
    document.querySelector('#room-title').textContent === 'travel' &&
    document.querySelector('#messages li[data-search-hit="true"]') !== null);
  const marked = await bob.textContent('#messages li[data-search-hit="true"] [data-test="message-body"]');
  check(marked === target, `the marked message is the one found (got "${marked}")`);
  await until(bob, 'the marked message is scrolled into view', () => {
    const li = document.querySelector('#messages li[data-search-hit="true"]');
    const box = document.querySelector('#message-scroller').getBoundingClientRect();
    const r = li.getBoundingClientRect();
    return r.bottom > box.top && r.top < box.bottom;
  });

  log('an operator-laden query is an ordinary search');
  const before = await bob.textContent('#search-summary');
  await searchFor(bob, 'AND OR NOT ( " *', 0);
  check(await bob.getAttribute('#status', 'data-kind') !== 'error', 'no error for operators');
  check((await bob.textContent('#search-summary')) === 'no messages found', 'operators: no messages found');
  check(before !== null, 'the summary was shown before');

  log('carol is not in the room: she finds nothing');
  await searchFor(carol, '都庁', 0);
  check((await carol.textContent('#search-summary')) === 'no messages found', 'carol finds nothing');

  await bob.screenshot({ path: screenshotPath });
  check(pageErrors.length === 0, `no uncaught errors in the pages: ${pageErrors.join('; ')}`);
}

run('search', scenario);
