// Two users in two browser contexts use the chat page: they log in, see
// each other online, exchange messages (XSS payloads must show as text),
// one reloads and gets the history, one leaves and the other sees it.
// Prints one JSON line; exits non-zero on failure.
import { launch } from './launch.mjs';

const base = process.argv[2];
const browser = await launch();
const steps = [];
const fail = async (msg) => { console.log(JSON.stringify({ ok: false, msg, steps })); await browser.close(); process.exit(1); };
const T = { timeout: 10000 };
try {
  const alice = await (await browser.newContext()).newPage();
  const bob = await (await browser.newContext()).newPage();
  let dialogs = 0;
  for (const p of [alice, bob]) p.on('dialog', async (d) => { dialogs++; await d.dismiss(); });

  for (const [page, name] of [[alice, 'alice'], [bob, 'bob']]) {
    await page.goto(base + '/#lobby');
    await page.fill('#name', name);
    await page.click('#login-form button');
    await page.waitForSelector('#state.connected', T);
  }
  steps.push('logged in');
  await alice.waitForFunction(() => document.querySelector('#count').textContent === '2', null, T);
  const online = await alice.$$eval('#online li', (els) => els.map((e) => e.textContent));
  if (!online.some((t) => t.includes('bob'))) await fail('alice does not see bob online: ' + online);
  steps.push('presence');

  // The directory lists #lobby with its two people; bob joins #attic from
  // the form and alice sees it there, then joins it with one click.
  await alice.waitForFunction(() => [...document.querySelectorAll('#directory li')].some((li) => li.textContent === '#lobby2'), null, T);
  await bob.fill('#join-room', 'attic');
  await bob.press('#join-room', 'Enter');
  await bob.waitForFunction(() => document.querySelector('#count').textContent === '1', null, T); // bob is in #attic
  await alice.evaluate(() => window.dispatchEvent(new Event('focus'))); // back to the tab: the list is refreshed
  await alice.waitForFunction(() => [...document.querySelectorAll('#directory li')].some((li) => li.textContent === '#attic1'), null, T);
  await alice.click('#directory button[title="Join #attic"]');
  await alice.waitForFunction(() => document.querySelector('#title').textContent.includes('attic') && document.querySelector('#count').textContent === '2', null, T);
  for (const p of [alice, bob]) {
    await p.click('#rooms button:has-text("#lobby")');
    await p.waitForFunction(() => document.querySelector('#count').textContent === '2', null, T);
  }
  steps.push('room directory');

  const payloads = ['hello bob', '<script>window.pwned=1</script>', '<img src=x onerror="window.pwned=2">'];
  for (const p of payloads) {
    await alice.fill('#input', p);
    await alice.press('#input', 'Enter');
  }
  await bob.waitForFunction((n) => document.querySelectorAll('#messages li.msg').length >= n, payloads.length, T);
  const texts = await bob.$$eval('#messages li.msg .text', (els) => els.map((e) => e.textContent));
  for (const p of payloads) if (!texts.includes(p)) await fail('bob lacks message ' + p + ': ' + texts);
  const pwned = await bob.evaluate(() => window.pwned);
  const imgs = await bob.$$eval('#messages img', (els) => els.length);
  if (pwned !== undefined || imgs !== 0 || dialogs !== 0) await fail('payload executed: pwned=' + pwned + ' imgs=' + imgs);
  steps.push('messages as text');

  await bob.reload();
  await bob.waitForSelector('#state.connected', T);
  await bob.waitForFunction((n) => document.querySelectorAll('#messages li.msg').length >= n, payloads.length, T);
  steps.push('history after reload');

  await bob.close();
  await alice.waitForFunction(() => document.querySelector('#count').textContent === '1', null, T);
  const sys = await alice.$$eval('#messages li.system', (els) => els.map((e) => e.textContent));
  if (!sys.some((t) => t.includes('bob left'))) await fail('alice did not see bob leave: ' + sys);
  steps.push('logout seen');
  console.log(JSON.stringify({ ok: true, steps }));
} catch (e) {
  await fail(String(e));
} finally {
  await browser.close();
}
