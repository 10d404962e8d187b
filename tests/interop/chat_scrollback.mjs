// Scroll-back: a person joins a room of many messages and scrolls to the
// top until the first message: every message shows once, in order, and
// the place being read stays put as earlier pages come in above it.
// argv: base URL, room, how many messages the room holds. Prints one JSON
// line; exits non-zero on failure.
import { launch } from './launch.mjs';

const [base, room, total] = [process.argv[2], process.argv[3], Number(process.argv[4])];
const browser = await launch();
const fail = async (msg) => { console.log(JSON.stringify({ ok: false, msg })); await browser.close(); process.exit(1); };
const T = { timeout: 15000 };
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await page.goto(`${base}/#${room}`);
  await page.fill('#name', 'reader');
  await page.click('#login-form button');
  await page.waitForSelector('#state.connected', T);
  await page.waitForFunction((n) => [...document.querySelectorAll('#messages li.msg .text')].some((e) => e.textContent === 'message ' + n), total, T);
  let pages = 0;
  for (;;) {
    const first = await page.$eval('#messages li.msg .text', (e) => e.textContent);
    if (first === 'message 1') break;
    if (++pages > total) await fail('no end to scrolling back');
    // What the reader looks at before the page comes in.
    const anchor = await page.evaluate(() => {
      const m = document.querySelector('#messages li.msg');
      return { text: m.querySelector('.text').textContent };
    });
    await page.$eval('#messages', (l) => { l.scrollTop = 0; l.dispatchEvent(new Event('scroll')); });
    await page.waitForFunction((t) => document.querySelector('#messages li.msg .text').textContent !== t, anchor.text, T);
    // The message that was first is still in view: the reader was not
    // thrown to the bottom or the top.
    const kept = await page.evaluate((t) => {
      const list = document.querySelector('#messages');
      const li = [...list.querySelectorAll('li.msg')].find((e) => e.querySelector('.text').textContent === t);
      const r = li.getBoundingClientRect(), v = list.getBoundingClientRect();
      return r.bottom > v.top && r.top < v.bottom;
    }, anchor.text);
    if (!kept) await fail('the view jumped when page ' + pages + ' came in');
  }
  const texts = await page.$$eval('#messages li.msg .text', (els) => els.map((e) => e.textContent));
  if (texts.length !== total) await fail(`${texts.length} messages shown, want ${total}`);
  for (let i = 0; i < total; i++) if (texts[i] !== 'message ' + (i + 1)) await fail(`message ${i + 1} is "${texts[i]}"`);
  await page.waitForSelector('#messages li.older', T);
  if ((await page.textContent('#messages li.older')) !== 'the beginning of the conversation') await fail('no mark of the beginning');
  console.log(JSON.stringify({ ok: true, pages }));
} catch (e) {
  await fail(String(e));
} finally {
  await browser.close();
}
