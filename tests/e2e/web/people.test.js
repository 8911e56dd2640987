// Browser end-to-end test of the web client's people features, with two users (alice on a wide
// window, bob on a phone-sized one) and a third (carol) in separate browser contexts: contact
// requests (and their errors), accepting and rejecting, the direct chat, names instead of ids,
// [To:] mentions through the picker, replies, Chatwork notation, the member list with roles (and
// no edit controls for non-admins), tasks for one or more members, "my tasks", and a rename that
// the other user's open page shows at once (the account_updated push).
// Exits non-zero on any failure; every wait is bounded and waits for elements, never for time.
'use strict';

const { STEP_TIMEOUT_MS, log, check, until, signUp, roomItem, openRoom, send, messageIdOf, run } =
  require('./harness');

// ---- helpers -----------------------------------------------------------------------------------

async function statusError(page, what, needle) {
  await until(page, `${what}: an error containing "${needle}" in the status line`, (n) => {
    const s = document.querySelector('#status');
    return s.dataset.kind === 'error' && s.textContent.includes(n);
  }, needle);
  return page.textContent('#status');
}

// The author shown on the message whose body text is `text`.
async function authorOf(page, text) {
  const h = await until(page, `author of "${text}"`, (t) => {
    const li = [...document.querySelectorAll('li[data-test="message"]')]
      .find((x) => x.querySelector('[data-test="message-body"]').textContent === t);
    return li ? li.querySelector('[data-test="message-author"]').textContent : null;
  }, text);
  return h.jsonValue();
}

// Sends a body whose notation renders differently from its text: waits for one more own message.
async function sendNotation(page, text) {
  const before = (await page.$$('li[data-test="message"][data-mine="true"]')).length;
  await page.fill('#composer-input', text);
  await page.click('#send-btn');
  await until(page, 'own notation message shown', (n) =>
    document.querySelectorAll('li[data-test="message"][data-mine="true"]').length === n + 1, before);
}

function li(selector, accountId) {
  return `${selector}[data-account-id="${accountId}"]`;
}

// ---- the scenario ------------------------------------------------------------------------------

async function scenario(browser, baseUrl, screenshotPath) {
  const pageErrors = [];
  const newUser = async (name, viewport) => {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    page.on('pageerror', (err) => pageErrors.push(`${name}: ${err.message}`));
    page.on('dialog', (d) => d.dismiss());
    return page;
  };
  const alice = await newUser('alice', { width: 1280, height: 800 });
  const bob = await newUser('bob', { width: 390, height: 844 });  // a phone: the one-column layout

  log('both sign up; each has a "my chat" in the room list');
  const aliceId = await signUp(alice, baseUrl, 'alice');
  const bobId = await signUp(bob, baseUrl, 'bob');
  for (const page of [alice, bob]) {
    await page.waitForSelector('li[data-test="room-item"][data-type="my"]');
    check(await page.textContent('li[data-type="my"] [data-test="room-name"]') === 'My Chat',
      'the my chat is shown as "My Chat"');
    // my_status: nothing unread, no mentions, no tasks yet.
    await page.waitForSelector('#my-status[data-loaded="true"]');
    check(await page.textContent('#my-status-unread') === '0' &&
      await page.textContent('#my-status-mentions') === '0' &&
      await page.textContent('#my-status-tasks') === '0', 'a new account\'s status counts are all 0');
  }

  log('bad contact requests show the server\'s (or the form\'s) error');
  await alice.fill('#contact-request-id', '987654');
  await alice.click('#contact-request-btn');
  await statusError(alice, 'a request to an account that does not exist', 'not_found');
  await alice.fill('#contact-request-id', String(aliceId));
  await alice.click('#contact-request-btn');
  await statusError(alice, 'a request to herself', 'bad_request');
  await alice.fill('#contact-request-id', 'bob');
  await alice.click('#contact-request-btn');
  await statusError(alice, 'a request to a non-number', 'enter one account id');

  log('alice asks bob; bob sees the request with her name and message, live');
  await alice.fill('#contact-request-id', String(bobId));
  await alice.fill('#contact-request-message', 'hi, it\'s alice');
  await alice.click('#contact-request-btn');
  await until(alice, 'alice sees "request sent"', () =>
    document.querySelector('#status').textContent.includes('contact request sent'));
  const req = li('li[data-test="request"]', aliceId);
  await bob.waitForSelector(req);
  check(await bob.textContent(`${req} [data-test="request-name"]`) === 'alice', 'the request names alice');
  check(await bob.textContent(`${req} [data-test="request-message"]`) === 'hi, it\'s alice',
    'the request shows her message');
  await alice.fill('#contact-request-id', String(bobId));
  await alice.click('#contact-request-btn');
  await statusError(alice, 'asking again while the request waits', 'conflict');

  log('bob accepts: both become contacts and get a direct chat named after the other');
  await bob.click(`${req} [data-test="request-accept"]`);
  await until(bob, 'the request is gone from bob\'s list', (sel) => !document.querySelector(sel), req);
  await bob.waitForSelector(`${li('li[data-test="contact"]', aliceId)} [data-test="contact-name"]:text-is("alice")`);
  await alice.waitForSelector(`${li('li[data-test="contact"]', bobId)} [data-test="contact-name"]:text-is("bob")`);
  await alice.waitForSelector('li[data-test="room-item"][data-type="direct"] [data-test="room-name"]:text-is("bob")');
  await bob.waitForSelector('li[data-test="room-item"][data-type="direct"] [data-test="room-name"]:text-is("alice")');

  log('bob opens the direct chat from his contact list, alice from her room list');
  await bob.click(`${li('li[data-test="contact"]', aliceId)} [data-test="contact-chat"]`);
  await until(bob, 'bob has the direct chat with alice open', () =>
    document.querySelector('#room-title').textContent === 'alice' &&
    document.querySelector('#room-type').dataset.type === 'direct' &&
    document.querySelector('#messages').dataset.loaded === 'true');
  await openRoom(alice, 'bob');

  log('members of a direct chat: both admin, and nobody may change them');
  for (const page of [alice, bob]) {
    await until(page, 'two members listed', () =>
      document.querySelectorAll('#member-list li[data-test="member"]').length === 2);
    const roles = await page.$$eval('#member-list li[data-test="member"]', (els) => els.map((e) => e.dataset.role));
    check(roles.every((r) => r === 'admin'), `both are admins of the direct chat (got ${roles})`);
    check((await page.$$('[data-test="member-role-select"]')).length === 0, 'no role controls in a direct chat');
    check(await page.isHidden('#add-member-form'), 'no add-member form in a direct chat');
  }
  check(await alice.textContent(`${li('#member-list li', bobId)} [data-test="member-name"]`) === 'bob',
    'the member list shows bob by name');

  log('messages show their authors by name on the other side');
  await send(alice, 'hello bob');
  check(await authorOf(bob, 'hello bob') === 'alice', 'bob sees alice as the author');
  await send(bob, 'hi alice');
  check(await authorOf(alice, 'hi alice') === 'bob', 'alice sees bob as the author');

  log('a [To:] mention through the picker renders as a mention of bob on his side');
  await alice.selectOption('#to-picker', String(bobId));
  const withTo = await alice.inputValue('#composer-input');
  check(withTo === `[To:${bobId}]bob\n`, `the picker wrote the To tag and the name (got ${JSON.stringify(withTo)})`);
  await alice.locator('#composer-input').pressSequentially('please review');
  await alice.click('#send-btn');
  const mentionLi = await until(bob, 'bob sees a mention of himself', (id) => {
    const chip = document.querySelector(`#messages [data-test="mention"][data-account-id="${id}"]`);
    const item = chip && chip.closest('li[data-test="message"]');
    return item && item.dataset.mentionsMe === 'true' && chip.textContent === 'To bob' ? item.dataset.messageId : null;
  }, bobId);
  const mentionId = await mentionLi.jsonValue();
  const mentionText = await bob.textContent(`li[data-message-id="${mentionId}"] [data-test="message-body"]`);
  check(!mentionText.includes('[To:') && mentionText.includes('please review'),
    `the tag is not shown raw (got ${JSON.stringify(mentionText)})`);
  check(await alice.getAttribute(`li[data-message-id="${mentionId}"]`, 'data-mentions-me') === 'false',
    'on alice\'s side her own mention of bob is not a mention of her');

  log('bob replies to it; alice sees a reply to her message');
  await bob.click(`li[data-message-id="${mentionId}"] [data-test="reply-btn"]`);
  const directRoom = Number(await bob.getAttribute('#messages', 'data-room-id'));
  const withRp = await bob.inputValue('#composer-input');
  check(withRp === `[rp aid=${aliceId} to=${directRoom}-${mentionId}]alice\n`,
    `the reply tag names alice's message (got ${JSON.stringify(withRp)})`);
  await bob.locator('#composer-input').pressSequentially('on it');
  await bob.click('#send-btn');
  await until(alice, 'alice sees bob\'s reply to her message, as a mention of her', ([aid, mid]) => {
    const chip = document.querySelector(`#messages [data-test="reply-ref"][data-account-id="${aid}"][data-message-id="${mid}"]`);
    const item = chip && chip.closest('li[data-test="message"]');
    return item && item.dataset.mentionsMe === 'true' && chip.textContent === 'Re alice' &&
      item.querySelector('[data-test="message-body"]').textContent.endsWith('on it');
  }, [aliceId, mentionId]);

  log('bob marks alice\'s first message unread: his direct chat gets an unread badge');
  check((await alice.$$('li[data-test="message"][data-mine="true"] [data-test="unread-btn"]')).length === 0,
    'no "mark unread" on your own messages');
  const helloOnBob = await messageIdOf(bob, 'hello bob');
  await bob.click(`li[data-message-id="${helloOnBob}"] [data-test="unread-btn"]`);
  await until(bob, 'the direct chat shows unread messages again', () => {
    const item = document.querySelector('li[data-test="room-item"][data-type="direct"]');
    return item && Number(item.dataset.unread) >= 2 && item.querySelector('[data-test="unread-badge"]');
  });

  log('Chatwork notation: [qt], [info], [title], [toall] and [code] render as elements, HTML stays text');
  await sendNotation(alice, `[qt][qtmeta aid=${bobId} time=1796000000]hi alice[/qt]` +
    '[info][title]Plan[/title]step <b>1</b>[/info][toall] see [code][To:1][/code] [info]unclosed');
  await until(bob, 'bob sees the info box with its title', () => {
    const info = document.querySelector('#messages [data-test="cw-info"]');
    return info && info.querySelector('[data-test="cw-title"]') &&
      info.querySelector('[data-test="cw-title"]').textContent === 'Plan' && info.textContent.includes('step <b>1</b>');
  });
  const rendered = await bob.evaluate(() => {
    const last = [...document.querySelectorAll('li[data-test="message"]')].pop();
    return {
      tags: last.querySelectorAll('b').length,
      all: last.querySelectorAll('[data-test="mention-all"]').length,
      mentionsMe: last.dataset.mentionsMe,
      code: (last.querySelector('[data-test="cw-code"]') || {}).textContent,
      quote: (last.querySelector('[data-test="cw-qt"]') || {}).textContent,
      quoteMeta: (last.querySelector('[data-test="cw-qt"] [data-test="cw-qtmeta"]') || {}).textContent,
      unclosed: last.querySelector('[data-test="message-body"]').textContent.endsWith('[info]unclosed'),
    };
  });
  check(rendered.tags === 0, 'no <b> element from the body');
  check(rendered.all === 1 && rendered.mentionsMe === 'true', '[toall] renders as a mention of everyone');
  check(rendered.code === '[To:1]', `tags inside [code] stay literal (got ${rendered.code})`);
  check(rendered.unclosed, 'an unclosed [info] stays as written');
  check(typeof rendered.quoteMeta === 'string' && rendered.quoteMeta.startsWith('bob') &&
    rendered.quote.endsWith('hi alice'), `[qt] quotes bob by name (got ${JSON.stringify(rendered.quote)})`);
  await until(bob, 'a new message in the open chat reads it again: the badge is gone', () => {
    const item = document.querySelector('li[data-test="room-item"][data-type="direct"]');
    return item && item.dataset.unread === '0' && !item.querySelector('[data-test="unread-badge"]');
  });

  log('a task for bob with a limit: bob sees it in my tasks and marks it done; alice sees it done');
  check(await alice.$eval('#task-body', (e) => e.required && e.validity.valueMissing),
    'an empty task text is refused by the form itself (required)');
  await alice.fill('#task-body', 'send the report');
  await alice.click('#add-task-btn');
  await statusError(alice, 'a task for nobody', 'choose at least one member');
  await alice.check(`#task-assignees input[value="${bobId}"]`);
  await alice.fill('#task-limit-date', '2030-01-15');
  await alice.click('#add-task-btn');
  const aliceTask = 'li[data-test="task"][data-status="open"]';
  await alice.waitForSelector(`#room-task-list ${aliceTask}`);
  check(await alice.textContent(`#room-task-list ${aliceTask} [data-test="task-assignee"]`) === 'for bob',
    'alice\'s room task list names bob as the assignee');
  const myTask = `#my-task-list li[data-test="task"][data-assignee="${bobId}"]`;
  await bob.waitForSelector(`${myTask}[data-status="open"]`);
  // Adding the task posted a message that shows it, with bob's name, on both sides.
  for (const page of [alice, bob]) {
    await until(page, 'the task\'s message shows in the direct chat', () =>
      [...document.querySelectorAll('li[data-test="message"] [data-test="message-body"]')].some((b) =>
        b.textContent.includes('Task for') && b.textContent.includes('bob') &&
        b.textContent.includes('send the report')));
  }
  await until(bob, 'bob\'s status counts his open task', () =>
    document.querySelector('#my-status-tasks').textContent === '1');
  check(await bob.textContent(`${myTask} [data-test="task-body"]`) === 'send the report', 'bob\'s task text');
  check(await bob.textContent(`${myTask} [data-test="task-creator"]`) === 'by alice', 'bob sees who gave it');
  check((await bob.textContent(`${myTask} [data-test="task-limit"]`)).includes('2030'), 'the limit is shown');
  check((await alice.$$('#my-task-list li[data-test="task"]')).length === 0, 'alice has no tasks of her own');
  await bob.click(`${myTask} [data-test="task-toggle"]`);
  await bob.waitForSelector(`${myTask}[data-status="done"] [data-test="task-toggle"]:text-is("open again")`);
  await until(bob, 'a done task leaves bob\'s status count', () =>
    document.querySelector('#my-status-tasks').textContent === '0');
  await alice.waitForSelector('#room-task-list li[data-test="task"][data-status="done"]');
  check(await alice.textContent('#room-task-list li[data-test="task"] [data-test="task-status"]') === 'done',
    'alice sees the task done');

  log('alice creates a room with an icon: it shows in both room lists; a message counts in bob\'s status');
  await alice.fill('#new-room-name', 'pub');
  await alice.fill('#new-room-members', String(bobId));
  await alice.selectOption('#new-room-icon', 'beer');
  check((await alice.getAttribute('#new-room-icon-preview', 'src')).endsWith('img/icon/beer.svg'),
    'the form previews the chosen icon');
  await alice.click('#create-room-btn');
  await until(alice, 'alice has "pub" open', () => document.querySelector('#room-title').textContent === 'pub');
  for (const page of [alice, bob]) {
    await until(page, '"pub" shows the beer icon, loaded', () => {
      const li = [...document.querySelectorAll('li[data-test="room-item"]')]
        .find((x) => x.querySelector('[data-test="room-name"]').textContent === 'pub');
      const img = li && li.querySelector('img[data-test="room-icon"]');
      return img && img.dataset.icon === 'beer' && img.complete && img.naturalWidth > 0;
    });
  }
  const unreadBefore = Number(await bob.textContent('#my-status-unread'));
  await sendNotation(alice, `[To:${bobId}] a round for everyone`);
  await until(bob, 'bob\'s status: one more unread room and a mention', (n) =>
    Number(document.querySelector('#my-status-unread').textContent) === n + 1 &&
    Number(document.querySelector('#my-status-mentions').textContent) >= 1, unreadBefore);
  await openRoom(bob, 'pub');
  await until(bob, 'reading "pub" takes it out of bob\'s status', (n) =>
    Number(document.querySelector('#my-status-unread').textContent) === n, unreadBefore);

  log('a group room: alice (admin) gets role controls, bob (member) does not');
  await alice.fill('#new-room-name', 'team');
  await alice.fill('#new-room-members', String(bobId));
  await alice.click('#create-room-btn');
  await until(alice, 'alice has "team" open', () => document.querySelector('#room-title').textContent === 'team');
  // Group rooms are listed most recently active first: the new "team" above "pub" on both pages.
  for (const page of [alice, bob]) {
    await until(page, '"team" listed above "pub"', () => {
      const groups = [...document.querySelectorAll('li[data-test="room-item"][data-type="group"] [data-test="room-name"]')]
        .map((n) => n.textContent);
      return groups[0] === 'team' && groups[1] === 'pub';
    });
  }
  await openRoom(bob, 'team');
  await alice.waitForSelector(`${li('#member-list li', bobId)} [data-test="member-role-select"]`);
  check(await alice.isVisible('#add-member-form'), 'the admin has the add-member form');
  await until(bob, 'bob sees both members with their roles', ([a, b]) =>
    document.querySelector(`#member-list li[data-account-id="${a}"] [data-test="member-role"]`)?.textContent === 'admin' &&
    document.querySelector(`#member-list li[data-account-id="${b}"] [data-test="member-role"]`)?.textContent === 'member',
  [aliceId, bobId]);
  check((await bob.$$('[data-test="member-role-select"], [data-test="member-remove"]')).length === 0,
    'bob, a member, has no role or remove controls');
  check(await bob.isHidden('#add-member-form'), 'bob has no add-member form');

  log('alice makes bob read-only: his page shows it and drops the task form; then a member again');
  await alice.selectOption(`${li('#member-list li', bobId)} [data-test="member-role-select"]`, 'readonly');
  await alice.click(`${li('#member-list li', bobId)} [data-test="member-role-save"]`);
  await until(bob, 'bob is read-only on his page', (b) =>
    document.querySelector(`#member-list li[data-account-id="${b}"]`)?.dataset.role === 'readonly' &&
    document.querySelector('#room-role').textContent === 'readonly' &&
    document.querySelector('#add-task-form').hidden, bobId);
  await alice.selectOption(`${li('#member-list li', bobId)} [data-test="member-role-select"]`, 'member');
  await alice.click(`${li('#member-list li', bobId)} [data-test="member-role-save"]`);
  await until(bob, 'bob is a member again', () => document.querySelector('#room-role').textContent === 'member' &&
    !document.querySelector('#add-task-form').hidden);

  log('the last admin cannot demote herself: the server\'s conflict shows and the role stays');
  await alice.selectOption(`${li('#member-list li', aliceId)} [data-test="member-role-select"]`, 'member');
  await alice.click(`${li('#member-list li', aliceId)} [data-test="member-role-save"]`);
  await statusError(alice, 'demoting the last admin', 'conflict');
  await until(alice, 'alice is still admin', (a) =>
    document.querySelector(`#member-list li[data-account-id="${a}"]`)?.dataset.role === 'admin' &&
    document.querySelector(`#member-list li[data-account-id="${a}"] select`).value === 'admin', aliceId);

  log('one task for two members makes two tasks');
  await alice.fill('#task-body', 'both of us');
  await alice.check(`#task-assignees input[value="${aliceId}"]`);
  await alice.check(`#task-assignees input[value="${bobId}"]`);
  await alice.click('#add-task-btn');
  await until(alice, 'two open tasks in "team"', () =>
    document.querySelectorAll('#room-task-list li[data-test="task"][data-status="open"]').length === 2);
  await alice.waitForSelector(`#my-task-list li[data-test="task"][data-assignee="${aliceId}"]`);
  await until(bob, 'bob has the new task in my tasks too', () =>
    [...document.querySelectorAll('#my-task-list [data-test="task-body"]')].some((b) => b.textContent === 'both of us'));

  log('room settings: only the admin gets them; the new name, description and icon reach bob');
  check(await bob.isHidden('#room-settings-form'), 'bob (a member) has no room settings (nor their delete button)');
  await openRoom(alice, 'team');
  check(await alice.$eval('#room-settings-icon', (e) => e.value) === 'group', 'the icon starts as "group"');
  await alice.fill('#room-settings-name', 'core team');
  await alice.fill('#room-settings-description', 'the people who build it');
  await alice.selectOption('#room-settings-icon', 'star');
  await alice.click('#room-settings-save');
  await bob.waitForSelector(roomItem('core team'));
  await until(bob, 'bob\'s header and description follow the update', () =>
    document.querySelector('#room-title').textContent === 'core team' &&
    document.querySelector('#room-description').textContent === 'the people who build it');
  // The icon: in bob's room list and header, and it is a picture the server really serves.
  await until(bob, 'bob sees the star icon, loaded', () => {
    const img = [...document.querySelectorAll('li[data-test="room-item"]')]
      .find((li) => li.querySelector('[data-test="room-name"]').textContent === 'core team')
      .querySelector('img[data-test="room-icon"]');
    const head = document.querySelector('#room-icon');
    return img.dataset.icon === 'star' && img.complete && img.naturalWidth > 0 &&
      head.dataset.icon === 'star' && head.getAttribute('src').endsWith('img/icon/star.svg');
  });

  log('bob leaves the room: it leaves his list, his task there leaves his tasks, alice sees one member');
  await bob.click('#leave-room-btn');
  await bob.waitForSelector(roomItem('core team'), { state: 'detached' });
  await until(bob, 'bob\'s task in "core team" went with him', () =>
    ![...document.querySelectorAll('#my-task-list [data-test="task-body"]')].some((b) => b.textContent === 'both of us') &&
    document.querySelectorAll('#my-task-list li[data-test="task"]').length === 1);
  await until(alice, 'alice sees herself alone, with only her own task', (a) =>
    document.querySelectorAll('#member-list li[data-test="member"]').length === 1 &&
    document.querySelector(`#member-list li[data-account-id="${a}"]`) &&
    document.querySelectorAll('#room-task-list li[data-test="task"]').length === 1, aliceId);

  log('alice deletes "core team": the first click only arms the button; the room and its tasks go');
  await alice.click('#delete-room-btn');
  await until(alice, 'the first click asks again and deletes nothing', () =>
    document.querySelector('#delete-room-btn').textContent === 'Delete it, with all its messages and tasks' &&
    !document.querySelector('#room-open').hidden);
  await alice.click('#delete-room-btn');
  await alice.waitForSelector(roomItem('core team'), { state: 'detached' });
  await until(alice, 'the deleted room\'s task left alice\'s tasks, the room closed', () =>
    document.querySelector('#room-open').hidden &&
    ![...document.querySelectorAll('#my-task-list [data-test="task-body"]')].some((b) => b.textContent === 'both of us'));

  log('bob renames himself; alice\'s open page shows it at once (pushed): room, members, messages, contacts');
  await openRoom(alice, 'bob');
  check(await authorOf(alice, 'hi alice') === 'bob', 'before the rename, bob is bob');
  await bob.click('#rename-btn');
  await bob.fill('#profile-name', '   ');
  await bob.click('#profile-save');
  await statusError(bob, 'an empty name', 'a name cannot be empty');
  await bob.fill('#profile-name', 'robert');
  await bob.click('#profile-save');
  await until(bob, 'bob\'s page calls him robert', () =>
    document.querySelector('#me-name').textContent === 'robert' && document.querySelector('#profile-form').hidden);
  // No message from bob, no reload, no focus change: the account_updated push renames him on
  // alice's page everywhere it shows him.
  await until(alice, 'alice\'s open page renames bob live: room list, title, members, contacts, authors', (b) => {
    const byText = (sel, t) => [...document.querySelectorAll(sel)].some((x) => x.textContent === t);
    const author = [...document.querySelectorAll('li[data-test="message"]')]
      .find((x) => x.querySelector('[data-test="message-body"]').textContent === 'hi alice');
    return byText('li[data-test="room-item"][data-type="direct"] [data-test="room-name"]', 'robert') &&
      document.querySelector('#room-title').textContent === 'robert' &&
      document.querySelector(`#member-list li[data-account-id="${b}"] [data-test="member-name"]`)?.textContent === 'robert' &&
      document.querySelector(`li[data-test="contact"][data-account-id="${b}"] [data-test="contact-name"]`)?.textContent === 'robert' &&
      author && author.querySelector('[data-test="message-author"]').textContent === 'robert';
  }, bobId);
  await openRoom(bob, 'alice');
  await send(bob, 'new name, same bob');
  // The push of bob's message carries his new name: alice's room list follows it.
  await alice.waitForSelector('li[data-test="room-item"][data-type="direct"] [data-test="room-name"]:text-is("robert")');
  await openRoom(alice, 'robert');
  await until(alice, 'alice sees robert as the author of the new message', () =>
    [...document.querySelectorAll('li[data-test="message"]')].some((m) =>
      m.querySelector('[data-test="message-body"]').textContent === 'new name, same bob' &&
      m.querySelector('[data-test="message-author"]').textContent === 'robert'));
  check(await authorOf(alice, 'hi alice') === 'robert', 'the older message shows the new name too');
  await until(alice, 'the mention alice wrote to "bob" now reads "To robert", without the old name after it', (mid) => {
    const body = document.querySelector(`li[data-message-id="${mid}"] [data-test="message-body"]`);
    return body && body.querySelector('[data-test="mention"]').textContent === 'To robert' &&
      body.textContent === 'To robert\nplease review';
  }, mentionId);
  await alice.waitForSelector(`${li('li[data-test="contact"]', bobId)} [data-test="contact-name"]:text-is("robert")`);
  await alice.waitForSelector(`${li('#member-list li', bobId)} [data-test="member-name"]:text-is("robert")`);
  const layout = await bob.evaluate(() => ({
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    stacked: document.querySelector('#room-details').getBoundingClientRect().top >=
      document.querySelector('#composer').getBoundingClientRect().bottom,
  }));
  check(layout.overflow <= 0, `nothing wider than bob's phone screen (${layout.overflow} px too wide)`);
  check(layout.stacked, 'on the phone, members & tasks come below the messages and composer');
  await bob.screenshot({ path: screenshotPath.replace(/\.png$/, '-narrow.png'), fullPage: true });

  log('a reload: names come back from the server (history, contacts), not from the page\'s memory');
  await alice.reload();
  await until(alice, 'alice online after reload', () =>
    document.querySelector('#conn-state').dataset.state === 'online');
  await openRoom(alice, 'robert');
  check(await authorOf(alice, 'hi alice') === 'robert', 'history gives the new name');

  log('carol (with markup in her name) asks alice; alice rejects; the name stays text');
  const carol = await newUser('carol', { width: 1000, height: 700 });
  await signUp(carol, baseUrl, '<i>carol</i>');
  await carol.fill('#contact-request-id', String(aliceId));
  await carol.click('#contact-request-btn');
  await until(carol, 'carol\'s request is sent', () =>
    document.querySelector('#status').textContent.includes('contact request sent'));
  const carolReq = 'li[data-test="request"] [data-test="request-name"]:text-is("<i>carol</i>")';
  await alice.waitForSelector(carolReq);
  check((await alice.$$('#request-list i')).length === 0, 'no <i> element from carol\'s name');
  await alice.click('li[data-test="request"] [data-test="request-reject"]');
  await until(alice, 'the request is gone after reject', () =>
    document.querySelectorAll('#request-list li').length === 0);
  check((await alice.$$('#contact-list li[data-test="contact"]')).length === 1, 'alice still has one contact');
  check((await alice.$$('li[data-test="room-item"][data-type="direct"]')).length === 1,
    'rejecting made no direct chat');

  await alice.screenshot({ path: screenshotPath });
  log(`screenshots: ${screenshotPath} and ${screenshotPath.replace(/\.png$/, '-narrow.png')}`);
  check(pageErrors.length === 0, `no uncaught errors in the pages: ${pageErrors.join('; ')}`);
}

run('people', scenario);
