// Browser end-to-end test of hibiki's web client: a real hibikid serving web/, and two users
// (alice and bob) in two isolated browser contexts of Debian's chromium, driven by
// playwright-core. Exits non-zero on any failure; every wait is bounded. The scenario covers
// rooms, messages, reconnects and the operator page; people.test.js covers names, contacts,
// direct chats, members, mentions, replies and tasks.
'use strict';

const { STEP_TIMEOUT_MS, log, check, until, signUp, roomItem, openRoom, send, messageIdOf, unreadOf, run } =
  require('./harness');

// ---- the scenario ------------------------------------------------------------------------------

async function scenario(browser, baseUrl, screenshotPath) {
  const pageErrors = [];
  // Bob's WebSockets pass through a route so the test can cut them (and refuse new ones) to
  // exercise the page's reconnect and `sync`.
  const bobLink = { sockets: [], refuse: false };
  const newUser = async (name) => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 760 } });
    if (name === 'bob') {
      await context.routeWebSocket(/\/ws$/, (ws) => {
        if (bobLink.refuse) { ws.close({ code: 1001, reason: 'test: refused' }); return; }
        const server = ws.connectToServer();
        bobLink.sockets.push({ ws, server });
      });
    }
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    page.on('pageerror', (err) => pageErrors.push(`${name}: ${err.message}`));
    page.on('dialog', (d) => d.dismiss());
    return page;
  };
  const alice = await newUser('alice');
  const bob = await newUser('bob');

  log('both sign up through the page');
  const aliceId = await signUp(alice, baseUrl, 'alice');
  const bobId = await signUp(bob, baseUrl, 'bob');
  check(aliceId !== bobId, 'alice and bob have different account ids');

  log('alice creates a room with bob; both see it');
  await alice.fill('#new-room-name', 'project x');
  await alice.fill('#new-room-members', String(bobId));
  await alice.click('#create-room-btn');
  await until(alice, 'alice has "project x" open', () =>
    document.querySelector('#room-title').textContent === 'project x' &&
    document.querySelector('#messages').dataset.loaded === 'true');
  await bob.waitForSelector(roomItem('project x'), { timeout: STEP_TIMEOUT_MS });
  check(await unreadOf(bob, 'project x') === 0, 'bob starts with no unread messages');

  log('alice posts while bob has not opened the room: bob gets an unread badge');
  await send(alice, 'hello bob');
  await until(bob, 'bob\'s unread badge shows 1', (n) => {
    const li = [...document.querySelectorAll('li[data-test="room-item"]')]
      .find((x) => x.querySelector('[data-test="room-name"]').textContent === n);
    const badge = li && li.querySelector('[data-test="unread-badge"]');
    return badge && badge.textContent === '1';
  }, 'project x');

  log('bob opens the room: history shows the message, the badge clears');
  await openRoom(bob, 'project x');
  const helloId = await messageIdOf(bob, 'hello bob');
  await until(bob, 'bob\'s badge cleared after mark_read', (n) => {
    const li = [...document.querySelectorAll('li[data-test="room-item"]')]
      .find((x) => x.querySelector('[data-test="room-name"]').textContent === n);
    return li && !li.querySelector('[data-test="unread-badge"]');
  }, 'project x');
  const bobSeesButtons = await bob.$$(`li[data-message-id="${helloId}"] [data-test="edit-btn"], ` +
    `li[data-message-id="${helloId}"] [data-test="delete-btn"]`);
  check(bobSeesButtons.length === 0, 'bob has no edit/delete buttons on alice\'s message');
  const authorOnBob = await bob.getAttribute(`li[data-message-id="${helloId}"]`, 'data-account-id');
  check(Number(authorOnBob) === aliceId, 'the message is attributed to alice');

  log('live exchange in both directions');
  await send(bob, 'hi alice');
  const hiId = await messageIdOf(alice, 'hi alice');
  check(Number(hiId) > Number(helloId), 'message ids increase in send order');
  check((await alice.$$(`li[data-message-id="${hiId}"] [data-test="edit-btn"]`)).length === 0,
    'alice has no edit button on bob\'s message');
  check((await alice.$$(`li[data-message-id="${helloId}"] [data-test="edit-btn"]`)).length === 1,
    'alice has an edit button on her own message');
  await send(alice, 'second line');
  await messageIdOf(bob, 'second line');
  const orderOnBob = await bob.$$eval('li[data-test="message"] [data-test="message-body"]',
    (els) => els.map((e) => e.textContent));
  check(JSON.stringify(orderOnBob) === JSON.stringify(['hello bob', 'hi alice', 'second line']),
    `bob sees the messages in order (got ${JSON.stringify(orderOnBob)})`);

  log('alice edits her message; bob sees the new text');
  await alice.click(`li[data-message-id="${helloId}"] [data-test="edit-btn"]`);
  await alice.fill(`li[data-message-id="${helloId}"] [data-test="edit-input"]`, 'hello bob, edited');
  await alice.click(`li[data-message-id="${helloId}"] [data-test="edit-save"]`);
  await until(bob, 'bob sees the edit', (id) => {
    const li = document.querySelector(`li[data-message-id="${id}"]`);
    return li && li.querySelector('[data-test="message-body"]').textContent === 'hello bob, edited' &&
      !li.querySelector('[data-test="message-edited"]').hidden;
  }, helloId);

  log('alice deletes it; bob sees it deleted');
  await alice.click(`li[data-message-id="${helloId}"] [data-test="delete-btn"]`);
  await until(bob, 'bob sees the deletion', (id) => {
    const li = document.querySelector(`li[data-message-id="${id}"]`);
    return li && li.dataset.deleted === 'true' &&
      !li.querySelector('[data-test="message-body"]').textContent.includes('hello bob');
  }, helloId);
  await until(alice, 'alice sees her message deleted, without buttons', (id) => {
    const li = document.querySelector(`li[data-message-id="${id}"]`);
    return li && li.dataset.deleted === 'true' && !li.querySelector('[data-test="edit-btn"]');
  }, helloId);

  log('bob loses his connection; alice posts; bob reconnects and gets it through sync');
  const messagesBefore = (await bob.$$('li[data-test="message"]')).length;
  bobLink.refuse = true;
  for (const { ws, server } of bobLink.sockets.splice(0)) {
    await server.close().catch(() => {});
    await ws.close().catch(() => {});
  }
  await until(bob, 'bob offline', () => document.querySelector('#conn-state').dataset.state !== 'online');
  await send(alice, 'while you were away');
  check((await bob.$$('li[data-test="message"]')).length === messagesBefore,
    'bob, offline, has not seen the new message yet');
  bobLink.refuse = false;
  await until(bob, 'bob back online', () => document.querySelector('#conn-state').dataset.state === 'online');
  await messageIdOf(bob, 'while you were away');
  await send(bob, 'back again');
  await messageIdOf(alice, 'back again');

  log('message bodies are text, never HTML');
  const evil = '<img src=x onerror="window.__xss=1"><b>bold?</b>';
  await send(alice, evil);
  await messageIdOf(bob, evil);
  const injected = await bob.evaluate(() => ({
    xss: window.__xss === 1,
    tags: document.querySelectorAll('#messages img, #messages b').length,
  }));
  check(!injected.xss && injected.tags === 0, 'a body with HTML is shown as text on bob\'s page');

  log('a member gets no member controls; errors from replies show in the status line');
  check(await bob.isHidden('#add-member-form'), 'bob (a member) has no add-member form');
  check((await bob.$$('[data-test="member-role-select"]')).length === 0, 'bob has no role controls');
  await bob.fill('#contact-request-id', '999999');
  await bob.click('#contact-request-btn');
  await until(bob, 'a not_found error in bob\'s status line', () => {
    const s = document.querySelector('#status');
    return s.dataset.kind === 'error' && s.textContent.includes('not_found');
  });

  log('bob in another room: alice\'s new message counts as unread in "project x"');
  await bob.fill('#new-room-name', 'side room');
  await bob.fill('#new-room-members', String(aliceId));
  await bob.click('#create-room-btn');
  await until(bob, 'bob has "side room" open', () =>
    document.querySelector('#room-title').textContent === 'side room');
  await alice.waitForSelector(roomItem('side room'), { timeout: STEP_TIMEOUT_MS });
  await send(alice, 'are you there?');
  await until(bob, 'bob\'s badge on "project x" shows 1 while he reads "side room"', (n) => {
    const li = [...document.querySelectorAll('li[data-test="room-item"]')]
      .find((x) => x.querySelector('[data-test="room-name"]').textContent === n);
    const badge = li && li.querySelector('[data-test="unread-badge"]');
    return badge && badge.textContent === '1';
  }, 'project x');
  check((await bob.$$('li[data-test="message"]')).length === 0, 'bob\'s side room shows no messages');

  log('a reload keeps bob logged in (token in localStorage) with his rooms and unread count');
  await bob.reload();
  await until(bob, 'bob back online after reload', () =>
    document.querySelector('#conn-state').dataset.state === 'online');
  await bob.waitForSelector(roomItem('side room'), { timeout: STEP_TIMEOUT_MS });
  check(Number(await bob.textContent('#me-account-id')) === bobId, 'same account after reload');
  await until(bob, 'unread count from list_rooms after reload', (n) => {
    const li = [...document.querySelectorAll('li[data-test="room-item"]')]
      .find((x) => x.querySelector('[data-test="room-name"]').textContent === n);
    const badge = li && li.querySelector('[data-test="unread-badge"]');
    return badge && badge.textContent === '1';
  }, 'project x');

  log('alice adds bob to a room after creating it; bob sees it appear');
  await alice.fill('#new-room-name', 'later room');
  await alice.fill('#new-room-members', '');
  await alice.click('#create-room-btn');
  await until(alice, 'alice has "later room" open', () =>
    document.querySelector('#room-title').textContent === 'later room' &&
    document.querySelector('#messages').dataset.loaded === 'true');
  await alice.fill('#add-member-id', String(bobId));
  await alice.selectOption('#add-member-role', 'member');
  await alice.click('#add-member-btn');
  await bob.waitForSelector(roomItem('later room'), { timeout: STEP_TIMEOUT_MS });

  log('history pages: 55 messages, bob sees the newest 50 and loads the older ones');
  for (let i = 1; i <= 55; i++) await send(alice, `count ${i}`);
  await openRoom(bob, 'later room');
  await until(bob, 'the newest 50 messages and a "load older" button', () =>
    document.querySelectorAll('li[data-test="message"]').length === 50 &&
    !document.querySelector('#load-older-btn').hidden);
  const firstShown = await bob.textContent('li[data-test="message"] [data-test="message-body"]');
  check(firstShown === 'count 6', `the first page starts at "count 6" (got "${firstShown}")`);
  await bob.click('#load-older-btn');
  await until(bob, 'all 55 messages after "load older"', () =>
    document.querySelectorAll('li[data-test="message"]').length === 55 &&
    document.querySelector('#load-older-btn').hidden);
  const bodies = await bob.$$eval('li[data-test="message"] [data-test="message-body"]',
    (els) => els.map((e) => e.textContent));
  check(bodies.every((b, i) => b === `count ${i + 1}`), 'the 55 messages are in order');

  log('screenshot of bob\'s chat');
  await openRoom(bob, 'project x');
  await messageIdOf(bob, 'are you there?');
  await bob.fill('#composer-input', 'typing a reply…');
  await bob.screenshot({ path: screenshotPath });
  log(`screenshot: ${screenshotPath}`);

  log('log out returns to the sign-up form and forgets the token; a pasted token logs back in');
  const aliceToken = await alice.evaluate(() => localStorage.getItem('hibiki.token'));
  await alice.click('#logout-btn');
  await until(alice, 'alice logged out', () =>
    !document.querySelector('#login-view').hidden && localStorage.getItem('hibiki.token') === null);
  await alice.fill('#token-input', 'not-a-real-token');
  await alice.click('#token-btn');
  await until(alice, 'a bad token is refused with a visible error', () =>
    !document.querySelector('#login-view').hidden &&
    document.querySelector('#status').dataset.kind === 'error');
  await alice.fill('#token-input', aliceToken);
  await alice.click('#token-btn');
  await until(alice, 'alice back in with her token', () =>
    document.querySelector('#conn-state').dataset.state === 'online' &&
    !document.querySelector('#chat-view').hidden);
  check(Number(await alice.textContent('#me-account-id')) === aliceId, 'the pasted token is alice\'s');
  await alice.waitForSelector(roomItem('later room'), { timeout: STEP_TIMEOUT_MS });

  log('the operator page plots connections, messages/s and latencies from /metrics');
  const ops = await (await browser.newContext({ viewport: { width: 1200, height: 900 } })).newPage();
  ops.setDefaultTimeout(STEP_TIMEOUT_MS);
  ops.on('pageerror', (err) => pageErrors.push(`ops: ${err.message}`));
  await ops.goto(baseUrl + '/ops.html', { timeout: STEP_TIMEOUT_MS });
  // Predicates as expressions evaluated in the page.
  const points = (id) => `Number(document.querySelector('#${id}').dataset.points || 0) >= 1`;
  await until(ops, 'two scrapes: the messages chart has a point', points('chart-messages'));
  check(await ops.getAttribute('#scrape-state', 'data-state') === 'ok', 'the page scraped /metrics');
  await until(ops, 'the page shows the node ready', () =>
    document.querySelector('#ready-state').dataset.state === 'ready');
  // alice's page (at least) is connected.
  await until(ops, 'the connections chart shows the open WebSockets', () =>
    Number(document.querySelector('#chart-connections').dataset.last) >= 1);
  await openRoom(alice, 'project x');
  for (let i = 1; i <= 5; i++) await send(alice, `ops traffic ${i}`);
  await until(ops, 'messages/s went above 0 after the traffic', () =>
    Number(document.querySelector('#chart-messages').dataset.max) > 0);
  await until(ops, 'the send→ack chart has latency points', points('chart-send-ack'));
  await until(ops, 'the journal commit chart has latency points', points('chart-commit'));
  const p50 = Number(await ops.getAttribute('#chart-send-ack', 'data-max'));
  check(p50 > 0 && p50 < 60000, `send→ack p50 is a plausible number of ms (got ${p50})`);
  const painted = await ops.evaluate(() => {
    const c = document.querySelector('#chart-messages');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let colored = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i + 1] > d[i] + 40) colored++;
    return colored;
  });
  check(painted > 10, `the messages chart has its green line on the canvas (${painted} pixels)`);
  await ops.screenshot({ path: screenshotPath.replace(/\.png$/, '-ops.png') });

  check(pageErrors.length === 0, `no uncaught errors in the pages: ${pageErrors.join('; ')}`);
}

run('chat', scenario);
