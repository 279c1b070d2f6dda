// The web console (/console) and the API docs page (/docs) in real headless Chromium (Debian's /usr/bin/chromium driven
// by playwright-core; no browser is downloaded) against the embedded Sluice. The test makes its own data through the
// HTTP API and a Kafka client (a topic, records, a group's committed offsets) and checks that every page shows it; it
// also uses the console's forms (create a topic, produce, edit a config, reset a group's offsets) and checks the result
// through the API. Screenshots of every page go to apps/e2e/test-output/console/ (gitignored).
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaceRoot } from '@sluice/testing';
import { startEmbedded, type EmbeddedSluice } from './embedded-sluice.js';
import { Http } from './http-client.js';

const CHROMIUM = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = join(workspaceRoot, 'apps/e2e/test-output/console');
const TOPIC = 'console-orders';
const GROUP = 'console-group';
const PARTITIONS = 3;
const RECORDS = 12;

let sluice: EmbeddedSluice;
let http: Http;
let browser: Browser;
let page: Page;
/** Requests the pages made to anywhere but the gateway (a CDN, a font host...): there must be none. */
const foreign: string[] = [];
const pageErrors: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Opens a console route (`#/topics/...`) and waits for the page's main content. */
async function open(route: string): Promise<void> {
  await page.goto(`${sluice.httpUrl}/console/${route}`);
  await page.waitForSelector('main');
}

/** The text of every row of a table (by its data-testid), cells joined by " | ". */
async function rows(testId: string): Promise<string[]> {
  return page.$$eval(`table[data-testid="${testId}"] tbody tr`, (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => (td.textContent ?? '').trim()).join(' | ')));
}

/** Waits until a table has a row that matches (polling the page, which refreshes itself), and returns that row. */
async function rowMatching(testId: string, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  let seen: string[] = [];
  while (Date.now() < until) {
    seen = await rows(testId).catch(() => []);
    const hit = seen.find((r) => pattern.test(r));
    if (hit) return hit;
    await page.waitForTimeout(200);
  }
  throw new Error(`no row of table ${testId} matches ${pattern}; rows: ${JSON.stringify(seen)}`);
}

async function text(selector: string): Promise<string> {
  return ((await page.textContent(selector)) ?? '').trim();
}

/** Waits until an element's text matches (the pages update themselves: after a request, or every few seconds). */
async function waitForText(selector: string, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    last = await page.textContent(selector, { timeout: 1000 }).then((t) => (t ?? '').trim(), () => '');
    if (pattern.test(last)) return last;
    await page.waitForTimeout(200);
  }
  throw new Error(`${selector} never matched ${pattern}; last text: ${JSON.stringify(last)}`);
}

/** Waits until the console's hash route is `hash`. */
const waitForRoute = (hash: string) => page.waitForURL((url) => url.hash === hash);

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium; .ci/run does)`);
  await mkdir(SHOTS, { recursive: true });
  sluice = await startEmbedded();
  http = new Http(sluice.httpUrl);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // A fresh profile per launch (playwright's own temporary user data dir). Chromium's background connections are
    // refused by a closed network, many at a time: turn them off.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(20_000);
  const origin = new URL(sluice.httpUrl).origin;
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(origin) && !url.startsWith('data:')) foreign.push(url);
  });
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('dialog', (d) => void d.accept());

  // The test's own data: a topic, records with keys, JSON values and a header, and a group with committed offsets.
  await http.createTopic(TOPIC, PARTITIONS);
  const records = Array.from({ length: RECORDS }, (_, i) => ({ key: `key-${i}`, value: { order: i, item: `widget-${i}` }, headers: { source: 'console-test' } }));
  const produced = await http.json<{ offsets: Array<{ partition: number; offset: number }> }>('POST', `/topics/${TOPIC}`, { records });
  expect(produced.status, JSON.stringify(produced.body)).toBe(200);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await sluice?.stop();
});

describe('web console in headless Chromium', () => {
  it('serves the console at /console/ and redirects /console', async () => {
    const res = await fetch(`${sluice.httpUrl}/console`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/console/');
    const index = await fetch(`${sluice.httpUrl}/console/`);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('<div id="app">');
  });

  it('overview: brokers up with partition and leader counts, coordinators, gateways, no under-replicated partitions', async () => {
    await open('#/');
    const broker = await rowMatching('brokers', /^1 \| up \|/);
    // One broker holds every partition of the test's topic (and is their leader).
    const [, , , , partitions, leaders, disk] = broker.split(' | ');
    expect(Number(partitions)).toBeGreaterThanOrEqual(PARTITIONS);
    expect(Number(leaders)).toBe(Number(partitions));
    // The records the test produced are on the broker's disk (and the API's figure is what the console shows).
    const cluster = await http.json<{ brokers: Array<{ id: number; log_bytes: number | null }> }>('GET', '/cluster');
    expect(cluster.body.brokers[0].log_bytes).toBeGreaterThan(0);
    expect(disk).toMatch(/^\d+(\.\d)? (B|KiB|MiB)$/);
    expect(await rows('coordinators')).toEqual([expect.stringMatching(/ \| up \| /)]);
    expect(await rows('gateways')).toEqual([expect.stringMatching(/ \| up \| .*http:/)]);
    expect(await text('[data-testid="stat-brokers"]')).toBe('1/1');
    expect(await text('[data-testid="stat-under-replicated"]')).toBe('0');
    expect(await text('[data-testid="stat-offline"]')).toBe('0');
    expect(await text('[data-testid="controller"]')).toMatch(/^Controller epoch \d+, metadata offset \d+/);
    // The embedded mode runs one controller: the active one, no standby.
    expect(await rows('controllers')).toEqual([expect.stringMatching(/^active \| \S+ \| /)]);
    await shot('overview');
  });

  it('topics: lists the topic created by the test with its partitions and records', async () => {
    await open('#/topics');
    const row = await rowMatching('topics', new RegExp(`^${TOPIC} \\|`));
    expect(row).toBe(`${TOPIC} | ${PARTITIONS} | 1 | ${RECORDS} | ${row.split(' | ')[4]} | ${row.split(' | ')[5]}`);
    // The size is the sum of the partitions' logs as the API reports them.
    const parts = await http.json<Array<{ size_bytes: number }>>('GET', `/topics/${TOPIC}/partitions`);
    const bytes = parts.body.reduce((sum, p) => sum + p.size_bytes, 0);
    expect(bytes).toBeGreaterThan(0);
    expect(row.split(' | ')[4]).toEqual(bytes < 1024 ? `${bytes} B` : expect.stringMatching(/ KiB$| MiB$/));
    await shot('topics');
  });

  it('topics: creates a topic with the form', async () => {
    await open('#/topics');
    await page.fill('[data-testid="create-topic"] input[name="name"]', 'console-made');
    await page.fill('[data-testid="create-topic"] input[name="partitions"]', '2');
    await page.fill('[data-testid="create-topic"] textarea[name="configs"]', 'retention.ms=7200000');
    await page.click('[data-testid="create-topic"] button[type="submit"]');
    // The console moves to the new topic's page.
    await waitForRoute('#/topics/console-made');
    await rowMatching('partitions', /^1 \|/);
    expect(await rows('partitions')).toHaveLength(2);
    const created = await http.json<{ partitions: unknown[]; configs: Record<string, string> }>('GET', '/topics/console-made');
    expect(created.status).toBe(200);
    expect(created.body.partitions).toHaveLength(2);
    expect(created.body.configs['retention.ms']).toBe('7200000');
  });

  it('topic page: deletes the topic', async () => {
    await open('#/topics/console-made');
    await rowMatching('partitions', /^1 \|/);
    await page.click('text=Delete topic');
    await waitForRoute('#/topics');
    expect((await http.json('GET', '/topics/console-made')).status).toBe(404);
    await rowMatching('topics', new RegExp(`^${TOPIC} \\|`));
    expect((await rows('topics')).some((r) => r.startsWith('console-made'))).toBe(false);
  });

  it('topic page: partitions with leader, replicas, in-sync replicas and offsets', async () => {
    await open(`#/topics/${TOPIC}`);
    await rowMatching('partitions', /^2 \|/);
    const partitions = await rows('partitions');
    expect(partitions).toHaveLength(PARTITIONS);
    let total = 0;
    for (const [i, r] of partitions.entries()) {
      const [partition, leader, replicas, isr, start, end, count] = r.split(' | ');
      expect([partition, leader, replicas, isr, start]).toEqual([String(i), '1', '1', '1', '0']);
      expect(count).toBe(end);
      total += Number(end);
    }
    expect(total).toBe(RECORDS);
    await shot('topic-partitions');
  });

  it('topic page: the message browser shows the records newest first, JSON pretty-printed, with headers, and filters them', async () => {
    await open(`#/topics/${TOPIC}/messages`);
    await page.waitForSelector('[data-testid="browse-count"]');
    expect(await text('[data-testid="browse-count"]')).toBe(`${RECORDS} of ${RECORDS} loaded records, newest first`);
    const shown = await rows('messages');
    expect(shown).toHaveLength(RECORDS);
    // Newest first: the last record produced comes first (all were produced in one request, so compare keys' order
    // within each partition instead of timestamps).
    const byPartition = new Map<string, number[]>();
    for (const r of shown) {
      const [partition, offset] = r.split(' | ');
      byPartition.set(partition, [...(byPartition.get(partition) ?? []), Number(offset)]);
    }
    for (const offsets of byPartition.values()) expect(offsets).toEqual([...offsets].sort((a, b) => b - a));
    // JSON values are pretty-printed (one field a line), headers shown as key=value.
    const value = await page.textContent('table[data-testid="messages"] tbody tr td:nth-child(5) pre.json');
    expect(value).toMatch(/^\{\n {2}"order": \d+,\n {2}"item": "widget-\d+"\n\}$/);
    expect(shown.every((r) => r.endsWith('source=console-test'))).toBe(true);
    await page.fill('[data-testid="browse"] input[name="search"]', 'widget-7"');
    await waitForText('[data-testid="browse-count"]', /^1 of/);
    expect(await rows('messages')).toEqual([expect.stringContaining('key-7')]);
    await page.fill('[data-testid="browse"] input[name="search"]', '');
    // By offset in one partition.
    await page.selectOption('[data-testid="browse"] select[name="partition"]', '0');
    await page.selectOption('[data-testid="browse"] select[name="from"]', 'offset');
    await page.fill('[data-testid="browse"] input[name="at"]', '1');
    await page.click('[data-testid="browse"] button[type="submit"]');
    const end0 = await http.endOffset(TOPIC, 0);
    await waitForText('[data-testid="browse-count"]', new RegExp(`^${end0 - 1} of ${end0 - 1} `));
    expect((await rows('messages')).map((r) => r.split(' | ').slice(0, 2).join(':'))).toEqual(
      Array.from({ length: end0 - 1 }, (_, i) => `0:${end0 - 1 - i}`),
    );
    await shot('topic-messages');
  });

  it('topic page: produces a record with the form', async () => {
    await open(`#/topics/${TOPIC}/produce`);
    await page.fill('[data-testid="produce"] input[name="key"]', 'from-console');
    await page.selectOption('[data-testid="produce"] select[name="format"]', 'json');
    await page.fill('[data-testid="produce"] textarea[name="value"]', '{"made": "in the console"}');
    await page.fill('[data-testid="produce"] textarea[name="headers"]', 'who=chromium');
    await page.click('[data-testid="produce"] button');
    await page.waitForSelector('[data-testid="produce"] .ok');
    const done = await text('[data-testid="produce"] .ok');
    const [, partition, offset] = /written to partition (\d+) at offset (\d+)/.exec(done) ?? [];
    expect(partition).toBeDefined();
    const read = await http.json<Array<{ key: string; value: string; headers: Array<{ key: string; value: string }> }>>(
      'GET',
      `/topics/${TOPIC}/partitions/${partition}/records?offset=${offset}&count=1&format=string`,
    );
    expect(read.body).toEqual([expect.objectContaining({ key: '"from-console"', value: '{"made":"in the console"}', headers: [{ key: 'who', value: 'chromium' }] })]);
    await shot('topic-produce');
  });

  it('topic page: edits configs', async () => {
    await open(`#/topics/${TOPIC}/configs`);
    await page.fill('input[name="config-key"]', 'retention.ms');
    await page.fill('input[name="config-value"]', '3600000');
    await page.click('text=Save configs');
    await page.waitForSelector('text=saved retention.ms');
    expect((await http.json<{ configs: Record<string, string> }>('GET', `/topics/${TOPIC}`)).body.configs['retention.ms']).toBe('3600000');
    // The saved config is listed, editable.
    await rowMatching('configs', /^retention\.ms \|/);
    expect(await page.inputValue('table[data-testid="configs"] input[aria-label="retention.ms"]')).toBe('3600000');
    await shot('topic-configs');
  });

  it('topic page: the live tail shows records produced while it is open (SSE)', async () => {
    await open(`#/topics/${TOPIC}/tail`);
    await page.click('[data-testid="tail-toggle"]');
    await waitForText('[data-testid="tail-status"]', /^connected/);
    const res = await http.json('POST', `/topics/${TOPIC}`, { records: [{ key: 'tail-key', value: { live: 'tail-1' } }] });
    expect(res.status).toBe(200);
    const row = await rowMatching('tail', /tail-1/);
    expect(row).toContain('tail-key');
    await shot('topic-tail');
    await page.click('[data-testid="tail-toggle"]');
  });

  it("consumer groups: a group's lag, per partition and in total, over time; its offsets reset in the console", async () => {
    // Commit offset 1 on every partition through a real Kafka client: the group then lags by (end - 1) per partition.
    const admin = new Kafka({ clientId: 'console-e2e', brokers: [sluice.kafkaBootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } }).admin();
    await admin.connect();
    try {
      await admin.setOffsets({ groupId: GROUP, topic: TOPIC, partitions: Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, offset: '1' })) });
    } finally {
      await admin.disconnect();
    }
    const ends = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => http.endOffset(TOPIC, p)));
    const lag = ends.reduce((n, end) => n + end - 1, 0);
    expect(lag).toBeGreaterThan(0);

    await open('#/groups');
    const row = await rowMatching('groups', new RegExp(`^${GROUP} \\|`));
    expect(row).toBe(`${GROUP} | Empty | consumer | ${TOPIC} | ${lag}`);
    await shot('groups');

    await open(`#/groups/${GROUP}`);
    await page.waitForSelector('[data-testid="total-lag"]');
    expect(await text('[data-testid="total-lag"]')).toBe(String(lag));
    expect(await rows('lag')).toEqual(ends.map((end, p) => `${TOPIC} | ${p} | 1 | ${end} | ${end - 1}`));
    // The chart draws its samples (one every 2 s): wait for three, the total lag among them.
    await page.waitForSelector('[data-testid="lag-chart"] canvas');
    await page.waitForSelector('[data-testid="lag-chart"]:is([data-samples="3"], [data-samples="4"], [data-samples="5"])', { timeout: 20_000 });
    expect(await page.textContent('[data-testid="lag-chart"] .u-legend')).toContain('total');
    await shot('group');

    // Reset to the latest offsets: a preview first (nothing changes), then for real.
    await page.fill('[data-testid="reset-offsets"] input[name="topic"]', TOPIC);
    await page.selectOption('[data-testid="reset-offsets"] select[name="to"]', 'latest');
    await page.click('[data-testid="reset-offsets"] button[type="button"]');
    await page.waitForSelector('[data-testid="reset-result"]');
    expect(await text('[data-testid="reset-result"]')).toBe(`Would set ${ends.map((end, p) => `partition ${p}: 1 → ${end}`).join('; ')}`);
    expect((await http.json<Array<{ lag: number }>>('GET', `/consumer-groups/${GROUP}/lag`)).body.reduce((n, l) => n + l.lag, 0)).toBe(lag);
    await page.click('[data-testid="reset-offsets"] button[type="submit"]');
    await waitForText('[data-testid="reset-result"]', /^Set /);
    await waitForText('[data-testid="total-lag"]', /^0$/);
    expect((await http.json<Array<{ lag: number }>>('GET', `/consumer-groups/${GROUP}/lag`)).body.map((l) => l.lag)).toEqual(ends.map(() => 0));
    await shot('group-reset');

    // Delete the group from its page.
    await page.click('text=Delete group');
    await waitForRoute('#/groups');
    expect((await http.json<Array<{ group_id: string }>>('GET', '/consumer-groups')).body.map((g) => g.group_id)).not.toContain(GROUP);
  });

  it('consumer groups: an active group shows its members and their partitions, and refuses resets', async () => {
    const group = 'console-live';
    const created = await http.json<{ base_uri: string }>('POST', `/consumers/${group}`, { name: 'live-1', format: 'string', 'auto.offset.reset': 'earliest' });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const instance = `/consumers/${group}/instances/live-1`;
    try {
      expect((await http.json('POST', `${instance}/subscription`, { topics: [TOPIC] })).status).toBe(204);
      // The first poll joins the group; it has every partition once the rebalance completes.
      let assigned = 0;
      for (let i = 0; i < 40 && assigned < PARTITIONS; i++) {
        await http.json('GET', `${instance}/records?timeout=200`);
        assigned = (await http.json<{ partitions: unknown[] }>('GET', `${instance}/assignments`)).body.partitions.length;
      }
      expect(assigned).toBe(PARTITIONS);
      await open(`#/groups/${group}`);
      const member = await rowMatching('members', new RegExp(`${TOPIC}/0, ${TOPIC}/1, ${TOPIC}/2$`));
      expect(member.split(' | ')[2]).not.toBe('');
      expect(await page.isDisabled('[data-testid="reset-offsets"] button[type="submit"]')).toBe(true);
      expect(await page.isDisabled('text=Delete group')).toBe(true);
      await shot('group-active');
    } finally {
      await http.json('DELETE', instance);
    }
  });

  it('loaded nothing from outside the gateway and raised no script errors', () => {
    expect(foreign).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});

describe('API docs page (/docs)', () => {
  it('renders the HTTP API from the OpenAPI document, with local assets only', async () => {
    const before = foreign.length;
    await page.goto(`${sluice.httpUrl}/docs`);
    await page.waitForSelector('.swagger-ui .opblock');
    expect(await text('.swagger-ui .info .title')).toContain('Sluice HTTP API');
    const paths = await page.$$eval('.opblock-summary-path', (els) => els.map((e) => e.getAttribute('data-path')));
    expect(paths).toEqual(expect.arrayContaining(['/topics', '/topics/{topic}/stream', '/consumer-groups/{group}/lag', '/cluster']));
    await shot('docs');
    expect(foreign.slice(before)).toEqual([]);
  });
});

describe('SLUICE_CONSOLE_ENABLED=false', () => {
  it('answers 404 at /console while the API and /docs stay', async () => {
    const off = await startEmbedded({ SLUICE_CONSOLE_ENABLED: 'false' });
    try {
      for (const path of ['/console', '/console/', '/console/index.html']) {
        const res = await fetch(`${off.httpUrl}${path}`, { redirect: 'manual' });
        expect(res.status, path).toBe(404);
      }
      expect((await fetch(`${off.httpUrl}/docs/json`)).status).toBe(200);
      expect((await fetch(`${off.httpUrl}/topics`)).status).toBe(200);
    } finally {
      await off.stop();
    }
  });
});
