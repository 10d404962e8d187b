// The chat page as people use it, in headless Chromium: direct messages
// between two browser contexts (unread count, own messages distinct,
// kept across a reload), "x is typing", date separators, leaving a room,
// and the layout at 375 px (no sideways scrolling, the sidebar behind the
// menu button), and accounts (a name claimed with a password, refused
// without it or with a wrong one, log out everywhere). Screenshots go to
// the directory in argv[3].
// Prints one JSON line; exits non-zero on failure.
import { launch } from './launch.mjs';
import * as path from 'node:path';

const base = process.argv[2];
const shots = process.argv[3];
const browser = await launch();
const steps = [];
const pageErrors = [];
const fail = async (msg) => { console.log(JSON.stringify({ ok: false, msg, steps, pageErrors })); await browser.close(); process.exit(1); };
const T = { timeout: 10000 };
const texts = (page, sel) => page.$$eval(sel, (els) => els.map((e) => e.textContent));

async function enter(page, name, room) {
  await page.goto(base + '/#' + room);
  await page.waitForSelector('#login-form', T);
  await page.fill('#name', name);
  await page.click('#login-form button');
  await page.waitForSelector('#state.connected', T);
}

try {
  const errors = pageErrors;
  const desktop = { viewport: { width: 1280, height: 800 } };
  const alice = await (await browser.newContext(desktop)).newPage();
  const bob = await (await browser.newContext(desktop)).newPage();
  for (const p of [alice, bob]) {
    p.on('pageerror', (e) => errors.push(String(e)));
    // A normal page load and use logs nothing in the console: no 401 for
    // "not logged in yet", no 404 for a favicon.
    p.on('console', (m) => { if (m.type() === 'error') errors.push('console: ' + m.text()); });
  }
  await enter(alice, 'alice', 'lobby');
  await enter(bob, 'bob', 'lobby');
  await alice.waitForFunction(() => document.querySelector('#count').textContent === '2', null, T);
  steps.push('both in #lobby');

  // A message of one's own looks different from the others'.
  await alice.fill('#input', 'morning all');
  await alice.press('#input', 'Enter');
  await alice.waitForSelector('#messages li.msg.mine', T);
  await bob.waitForFunction(() => [...document.querySelectorAll('#messages li.msg .text')].some((e) => e.textContent === 'morning all'), null, T);
  if (await bob.$('#messages li.msg.mine')) await fail("bob's page shows alice's message as his own");
  const days = await texts(bob, '#messages li.day');
  if (!days.includes('Today')) await fail('no date separator: ' + days);
  steps.push('own messages distinct, date separator');

  // Typing in the room shows on the other page only.
  await alice.fill('#input', 'I am typ');
  await alice.type('#input', 'ing');
  await bob.waitForFunction(() => document.querySelector('#typing').textContent === 'alice is typing…', null, T);
  if ((await alice.textContent('#typing')) !== '') await fail('alice sees her own typing');
  await alice.fill('#input', '');
  steps.push('typing');

  // Alice edits one of her messages and deletes another from the page;
  // bob sees both live and after a reload; his page offers no such
  // buttons on her messages.
  await alice.fill('#input', 'a typo hree');
  await alice.press('#input', 'Enter');
  const textOf = (t) => [...document.querySelectorAll('#messages li.msg .text')].some((e) => e.textContent === t);
  await bob.waitForFunction(textOf, 'a typo hree', T);
  await alice.locator('#messages li.msg.mine', { hasText: 'a typo hree' }).getByRole('button', { name: 'Edit this message' }).click();
  if ((await alice.inputValue('#input')) !== 'a typo hree' || await alice.isHidden('#editing')) await fail('editing did not start');
  await alice.fill('#input', 'a typo here');
  await alice.press('#input', 'Enter');
  await bob.waitForFunction(textOf, 'a typo here (edited)', T);
  const del = alice.locator('#messages li.msg.mine', { hasText: 'morning all' }).getByRole('button', { name: 'Delete this message' });
  await del.click();
  await del.click(); // the second click confirms
  await bob.waitForFunction(() => [...document.querySelectorAll('#messages li.msg .text.deleted')].some((e) => e.textContent === 'message deleted'), null, T);
  if (await bob.evaluate(() => document.querySelectorAll('#messages li.msg:not(.mine) .change').length) !== 0) await fail("bob's page offers to change alice's messages");
  await bob.reload();
  await bob.waitForSelector('#state.connected', T);
  await bob.waitForFunction(textOf, 'a typo here (edited)', T);
  await bob.waitForFunction(() => [...document.querySelectorAll('#messages li.msg .text')].some((e) => e.textContent === 'message deleted'), null, T);
  if (await bob.evaluate(() => [...document.querySelectorAll('#messages li.msg .text')].some((e) => e.textContent.includes('morning all')))) await fail('the deleted text came back');
  steps.push('edit and delete');

  // A direct message: alice opens it from the online list; bob, reading
  // #lobby, gets an unread count on it, opens it, and answers.
  await alice.click('#online button[aria-label="Direct message bob"]');
  await alice.waitForFunction(() => document.querySelector('#title').textContent === '@ bob', null, T);
  await alice.fill('#input', 'just between us');
  await alice.press('#input', 'Enter');
  await bob.waitForFunction(() => [...document.querySelectorAll('#dms .unread')].some((e) => e.textContent === '1'), null, T);
  const lobbyTexts = await texts(bob, '#messages li.msg .text');
  if (lobbyTexts.includes('just between us')) await fail('the dm showed in #lobby');
  await bob.click('#dms button');
  await bob.waitForFunction(() => [...document.querySelectorAll('#messages li.msg .text')].some((e) => e.textContent === 'just between us'), null, T);
  if (await bob.$('#dms .unread')) await fail('the unread count stayed after reading');
  await bob.fill('#input', 'sure thing');
  await bob.press('#input', 'Enter');
  await alice.waitForFunction(() => [...document.querySelectorAll('#messages li.msg:not(.mine) .text')].some((e) => e.textContent === 'sure thing'), null, T);
  steps.push('direct messages with unread counts');

  // Typing in the direct conversation shows on the other side. Alice
  // keeps typing, as a person does: the page says so every 3 s, and the
  // server drops notices past a budget (a burst of 3, then one a second)
  // that the steps above may have spent.
  for (const deadline = Date.now() + 30000; ;) {
    await alice.type('#input', 'w');
    try {
      await bob.waitForFunction(() => document.querySelector('#typing').textContent === 'alice is typing…', null, { timeout: 1000 });
      break;
    } catch (e) {
      if (Date.now() > deadline) await fail('no typing notice in the dm: ' + e);
    }
  }
  await alice.fill('#input', '');
  steps.push('typing in a dm');

  // Consecutive messages of one sender are grouped: one avatar and name;
  // an http(s) link is clickable and opens without the opener; anything
  // else stays text.
  await alice.fill('#input', 'go on');
  await alice.press('#input', 'Enter');
  await bob.waitForFunction(() => [...document.querySelectorAll('#messages li.msg .text')].some((e) => e.textContent === 'go on'), null, T);
  for (const m of ['first of two', 'second, see https://example.com/a?b=1. and javascript:alert(1)']) {
    await bob.fill('#input', m);
    await bob.press('#input', 'Enter');
  }
  await alice.waitForFunction(() => [...document.querySelectorAll('#messages li.msg .text')].some((e) => e.textContent.startsWith('second')), null, T);
  const grouped = await alice.evaluate(() => {
    const items = [...document.querySelectorAll('#messages li.msg')];
    const last = items[items.length - 1];
    const before = items[items.length - 2];
    const a = last.querySelector('a');
    return {
      cont: last.classList.contains('cont') && !before.classList.contains('cont'),
      heads: [last, before].map((li) => li.querySelectorAll('.head').length),
      href: a && a.href, rel: a && a.rel, target: a && a.target, anchors: last.querySelectorAll('a').length,
    };
  });
  if (!grouped.cont || grouped.heads[0] !== 0 || grouped.heads[1] !== 1) await fail('not grouped: ' + JSON.stringify(grouped));
  if (grouped.href !== 'https://example.com/a?b=1' || grouped.rel !== 'noopener noreferrer' || grouped.target !== '_blank' || grouped.anchors !== 1) await fail('link: ' + JSON.stringify(grouped));
  steps.push('grouped, links');

  // A name nobody has used is refused, with the server's words.
  await alice.fill('#dm-name', 'nobody-here');
  await alice.press('#dm-name', 'Enter');
  await alice.fill('#input', 'hello?');
  await alice.press('#input', 'Enter');
  await alice.waitForFunction(() => document.querySelector('#notice').textContent.includes('nobody of that name'), null, T);
  await alice.waitForFunction(() => document.querySelectorAll('#pending li').length === 0, null, T);
  steps.push('no_such_user shown');

  // The conversation is still there after a reload.
  await bob.reload();
  await bob.waitForSelector('#state.connected', T);
  await bob.waitForFunction(() => [...document.querySelectorAll('#dms button')].some((e) => e.textContent.startsWith('alice')), null, T);
  await bob.click('#dms button');
  await bob.waitForFunction(() => {
    const t = [...document.querySelectorAll('#messages li.msg .text')].map((e) => e.textContent);
    return t.includes('just between us') && t.includes('sure thing');
  }, null, T);
  steps.push('dms survive a reload');

  // Joining and leaving a room.
  for (const p of [alice, bob]) {
    await p.fill('#join-room', 'side');
    await p.press('#join-room', 'Enter');
    await p.waitForFunction(() => document.querySelector('#title').textContent === '#side', null, T);
  }
  await alice.waitForFunction(() => document.querySelector('#count').textContent === '2', null, T);
  await alice.click('#leave');
  await bob.waitForFunction(() => [...document.querySelectorAll('#messages li.system')].some((e) => e.textContent.startsWith('alice left #side')), null, T);
  const rooms = await texts(alice, '#rooms button');
  if (rooms.some((r) => r.startsWith('#side'))) await fail('alice still lists #side: ' + rooms);
  steps.push('leave');
  await alice.screenshot({ path: path.join(shots, 'desktop.png') });

  // Cleo leaves her only room: the page says there is no conversation,
  // shows no stale online list, and what she types then stays in the box
  // with a notice; once she joins again it is sent.
  const carol = await (await browser.newContext(desktop)).newPage();
  await carol.goto(base + '/#lobby');
  await carol.fill('#name', 'cleo');
  await carol.click('#login-form button');
  await carol.waitForSelector('#state.connected', T);
  await carol.waitForFunction(() => document.querySelector('#title').textContent === '#lobby', null, T);
  await carol.click('#leave');
  await carol.waitForFunction(() => document.querySelector('#title').textContent === 'No conversation open', null, T);
  if (!(await carol.isHidden('#online-box'))) await fail('a stale online list after leaving the last room');
  await carol.fill('#input', 'is anyone here?');
  await carol.press('#input', 'Enter');
  await carol.waitForFunction(() => document.querySelector('#notice').textContent.includes('kept in the box'), null, T);
  if ((await carol.inputValue('#input')) !== 'is anyone here?') await fail('the typed message was dropped');
  await carol.fill('#join-room', 'lobby');
  await carol.press('#join-room', 'Enter');
  await carol.waitForFunction(() => document.querySelector('#title').textContent === '#lobby', null, T);
  await carol.press('#input', 'Enter');
  await alice.click('#rooms button:has-text("#lobby")');
  await alice.waitForFunction(() => [...document.querySelectorAll('#messages li.msg .text')].some((e) => e.textContent === 'is anyone here?'), null, T);
  await carol.context().close();
  steps.push('nothing typed is dropped');


  // A phone: 375 px wide.
  const phone = await (await browser.newContext({ viewport: { width: 375, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true })).newPage();
  phone.on('pageerror', (e) => errors.push(String(e)));
  await phone.goto(base + '/#lobby');
  await phone.waitForSelector('#login-form', T);
  await phone.screenshot({ path: path.join(shots, 'phone-login.png') });
  await phone.fill('#name', 'carol');
  await phone.click('#login-form button');
  await phone.waitForSelector('#state.connected', T);
  await phone.fill('#input', 'from my phone, a message long enough to wrap over several lines of the narrow screen');
  await phone.press('#input', 'Enter');
  await phone.waitForSelector('#messages li.msg.mine', T);
  const layout = await phone.evaluate(() => {
    const box = (sel) => document.querySelector(sel).getBoundingClientRect();
    return { scroll: document.documentElement.scrollWidth, input: box('#input').right, send: box('#compose button').right, side: box('aside').right };
  });
  if (layout.scroll > 375 || layout.input > 375 || layout.send > 375) await fail('overflows at 375 px: ' + JSON.stringify(layout));
  if (layout.side > 0) await fail('the sidebar covers the messages on a phone: ' + JSON.stringify(layout));
  await phone.screenshot({ path: path.join(shots, 'phone-chat.png') });
  await phone.click('#menu');
  await phone.waitForFunction(() => document.querySelector('aside').getBoundingClientRect().left >= 0, null, T);
  await phone.screenshot({ path: path.join(shots, 'phone-menu.png') });
  steps.push('375 px layout');

  // Accounts: a password claims a name; the name then needs it, with
  // one message for "taken" (no password given) and one for "wrong".
  const dana = await (await browser.newContext(desktop)).newPage();
  const intruder = await (await browser.newContext(desktop)).newPage();
  for (const p of [dana, intruder]) p.on('pageerror', (e) => errors.push(String(e)));
  await dana.goto(base + '/#lobby');
  await dana.waitForSelector('#login-form', T);
  await dana.fill('#name', 'dana');
  await dana.fill('#password', 'dana-secret-1');
  await dana.screenshot({ path: path.join(shots, 'login-password.png') });
  await dana.click('#login-form button');
  await dana.waitForSelector('#state.connected', T);
  if (await dana.isHidden('#logout-all')) await fail('an account has no "log out everywhere"');
  await intruder.goto(base + '/#lobby');
  await intruder.waitForSelector('#login-form', T);
  await intruder.fill('#name', 'DANA');
  await intruder.click('#login-form button');
  await intruder.waitForFunction(() => document.querySelector('#login-error').textContent.startsWith('That name is taken'), null, T);
  await intruder.fill('#password', 'a guess, wrong');
  await intruder.click('#login-form button');
  await intruder.waitForFunction(() => document.querySelector('#login-error').textContent.startsWith('Wrong password'), null, T);
  await intruder.screenshot({ path: path.join(shots, 'login-refused.png') });
  steps.push('a name claimed with a password');
  // Dana on a second device, then "log out everywhere" from it.
  await intruder.fill('#password', 'dana-secret-1');
  await intruder.click('#login-form button');
  await intruder.waitForSelector('#state.connected', T);
  await intruder.click('#logout-all');
  await dana.waitForSelector('#login-form', { state: 'visible', timeout: 15000 });
  steps.push('log out everywhere');

  // Desktop notifications: the permission is asked on a click, never on
  // load; with it, a direct message or a mention of one's name while the
  // tab is hidden notifies, other messages do not. (The Notification API
  // and document.hidden are stood in for: headless Chromium shows no
  // notifications and its tabs are never hidden.)
  const ectx = await browser.newContext(desktop);
  await ectx.addInitScript(() => {
    window.__notes = [];
    window.__asked = 0;
    window.__permission = 'default';
    window.Notification = class {
      constructor(title, opts) { window.__notes.push(title + ': ' + (opts && opts.body)); }
      close() {}
      static get permission() { return window.__permission; }
      static requestPermission() { window.__asked++; window.__permission = 'granted'; return Promise.resolve('granted'); }
    };
    Object.defineProperty(document, 'hidden', { get: () => window.__hidden === true });
  });
  const eve = await ectx.newPage();
  await enter(eve, 'eve', 'lobby');
  if (await eve.evaluate(() => window.__asked) !== 0) await fail('the notification permission was asked on load');
  await eve.click('#notify');
  await eve.waitForFunction(() => window.__asked === 1 && document.querySelector('#notify').hidden, null, T);
  await eve.evaluate(() => { window.__hidden = true; });
  await alice.click('#rooms button:has-text("#lobby")');
  for (const m of ['nothing to see, steve', 'eve, lunch?']) {
    await alice.fill('#input', m);
    await alice.press('#input', 'Enter');
  }
  await alice.fill('#dm-name', 'eve');
  await alice.press('#dm-name', 'Enter');
  await alice.fill('#input', 'a secret for eve');
  await alice.press('#input', 'Enter');
  await eve.waitForFunction(() => window.__notes.length >= 2, null, T);
  // (A room post and a dm travel different queues: either may come first.)
  const notes = (await eve.evaluate(() => window.__notes)).sort();
  if (notes.length !== 2 || !notes[0].startsWith('alice (direct message): a secret for eve') || !notes[1].startsWith('alice in #lobby: eve, lunch?')) await fail('notifications: ' + JSON.stringify(notes));
  steps.push('notifications');

  if (errors.length) await fail('page errors: ' + errors.join('; '));
  console.log(JSON.stringify({ ok: true, steps }));
} catch (e) {
  await fail(String(e));
} finally {
  await browser.close();
}
