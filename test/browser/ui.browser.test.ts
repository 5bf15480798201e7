import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';

import { launchChromium, type Browser } from '../harness/chromium';
import { createTestService, TEST_API_KEY, type TestService } from '../harness/service';
import {
	api,
	callService,
	items,
	serveApp,
	startSink,
	submitBatch,
	type Sink,
} from '../integration/batches/helpers';

jest.setTimeout(240_000);

const ARTIFACTS = path.resolve(__dirname, '../artifacts');
const BATCH = 'ui-batch';
const EDITOR = 'http://127.0.0.1:5678';

/** The number in a counts cell ("4,975" -> 4975). */
async function count(page: Page, field: string): Promise<number> {
	const text = await page.locator(`.detail [data-count="${field}"]`).textContent();
	return Number((text ?? '').replace(/[^\d]/g, ''));
}

/** Polls (bounded) until `check` holds, for what the page shows without an event to wait on. */
async function until(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`page condition not met within ${timeoutMs} ms`);
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
}

const stateOf = (page: Page) => page.locator('.detail-head [data-field="state"]');

describe('operator view in headless Chromium', () => {
	let service: TestService;
	let served: { url: string; close(): Promise<void> };
	let sink: Sink;
	let browser: Browser;
	const outside: string[] = [];
	let failedOnce = false;

	beforeAll(async () => {
		mkdirSync(ARTIFACTS, { recursive: true });
		service = createTestService({ N8N_EDITOR_URL: EDITOR }, { dispatcher: true });
		served = await serveApp(service.app);
		// A no-op worker, 40 ms a chunk. Like an n8n worker it records the first chunks itself,
		// naming its execution; item-7 fails for good the first time (a dead letter to replay).
		sink = await startSink(async (dispatch) => {
			if (dispatch.chunkIndex < 3) {
				const results = dispatch.items.map((item) =>
					item.key === 'item-7' && !failedOnce
						? {
								key: item.key,
								status: 'failed' as const,
								error: { message: 'mailbox unavailable', class: 'rejected', transient: false },
							}
						: { key: item.key, status: 'succeeded' as const },
				);
				if (results.some((r) => r.status === 'failed')) failedOnce = true;
				const recorded = await callService(served.url, 'POST', `/v1/batches/${BATCH}/results`, {
					lease: dispatch.lease,
					execution: { id: `exec-${dispatch.chunkIndex}-${dispatch.attempt}`, workflowId: 'wf-ui' },
					results,
				});
				if (recorded.status !== 200) throw new Error(JSON.stringify(recorded.body));
			}
			return { delayMs: 40 };
		});
		browser = await launchChromium();
		browser.context.on('request', (request) => {
			const { hostname, protocol } = new URL(request.url());
			if (protocol.startsWith('http') && hostname !== '127.0.0.1') outside.push(request.url());
		});
	});

	afterAll(async () => {
		await browser?.close();
		await sink?.close();
		await served?.close();
		await service?.cleanup();
	});

	it('logs in, watches a 5,000-item batch move, pauses, resumes, replays a dead letter, opens the queues', async () => {
		const page = await browser.context.newPage();
		const first = await page.goto(`${served.url}/ui/`);
		expect(first?.status()).toBe(401);
		await page.locator('#apiKey').fill(TEST_API_KEY);
		await Promise.all([page.waitForURL(`${served.url}/ui/`), page.click('button[type="submit"]')]);
		const cookies = await browser.context.cookies();
		const session = cookies.find((cookie) => cookie.name === 'bg_ui_session');
		expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/ui' });
		expect(page.url()).not.toContain(TEST_API_KEY);
		await page.locator('#live.on').waitFor();

		await submitBatch(
			service.app,
			{ batchKey: BATCH, targetUrl: sink.url, chunkSize: 25, concurrency: 2 },
			items(5000),
		);
		// The new batch appears by the event stream alone (no reload).
		const card = page.locator(`li.card[data-batch="${BATCH}"]`);
		await card.waitFor({ timeout: 10_000 });
		await card.click();
		await page.locator('.detail [data-count="succeeded"]').waitFor();
		const before = await count(page, 'succeeded');
		await until(async () => (await count(page, 'succeeded')) > before + 100);
		const barWidth = await page.locator('.detail .bar .ok').evaluate((el) => el.style.width);
		expect(parseFloat(barWidth)).toBeGreaterThan(0);
		await page.screenshot({ path: path.join(ARTIFACTS, 'ui-progress.png'), fullPage: true });

		await page.click('[data-action="pause"]');
		await stateOf(page).filter({ hasText: 'paused' }).waitFor();
		await page.waitForTimeout(1500); // chunks in flight finish
		const paused = await count(page, 'succeeded');
		await page.waitForTimeout(2000);
		expect(await count(page, 'succeeded')).toBe(paused);
		expect(paused).toBeLessThan(5000);
		await page.screenshot({ path: path.join(ARTIFACTS, 'ui-paused.png'), fullPage: true });

		await page.click('[data-action="resume"]');
		await stateOf(page).filter({ hasText: 'running' }).waitFor();
		await stateOf(page).filter({ hasText: 'completed with errors' }).waitFor({ timeout: 120_000 });
		expect(await count(page, 'succeeded')).toBe(4999);
		const deadRow = page.locator('tr[data-key="item-7"]');
		await deadRow.waitFor();
		expect(await deadRow.textContent()).toContain('mailbox unavailable');
		// The dead letter links to the n8n execution of its chunk.
		const link = deadRow.locator(`a[href^="${EDITOR}/workflow/wf-ui/executions/exec-0-"]`);
		expect(await link.count()).toBe(1);
		await page.locator('.classes [data-class="rejected"]').waitFor();
		await page.screenshot({ path: path.join(ARTIFACTS, 'ui-dead-letter.png'), fullPage: true });

		await page.click('[data-action="replay-all"]');
		await stateOf(page)
			.filter({ hasText: /^completed$/ })
			.waitFor({ timeout: 30_000 });
		await page.locator('tr[data-key="item-7"]').waitFor({ state: 'detached' });
		expect(await count(page, 'succeeded')).toBe(5000);
		expect(await count(page, 'deadLettered')).toBe(0);
		// Nothing absent is printed as "null" or "undefined", and chunks link to their executions.
		expect(await page.locator('.detail').innerText()).not.toMatch(/\bnull\b|\bundefined\b/);
		const chunkLink = page.locator(
			`li[data-chunk="0"] a[href^="${EDITOR}/workflow/wf-ui/executions/"]`,
		);
		expect(await chunkLink.count()).toBeGreaterThanOrEqual(1);
		const report = await api(service.app).get(`/v1/batches/${BATCH}/report`);
		expect(report.body.summary.succeeded).toBe(5000);
		await page.screenshot({ path: path.join(ARTIFACTS, 'ui-replayed.png'), fullPage: true });

		const queues = await page.goto(`${served.url}/ui/queues/`);
		expect(queues?.status()).toBe(200);
		await page.getByText('batch-chunks').first().click({ timeout: 20_000 });
		await page.waitForURL(/\/ui\/queues\/queue\/batch-chunks/);
		await page
			.getByText(/completed/i)
			.first()
			.waitFor({ timeout: 20_000 });
		await page.screenshot({ path: path.join(ARTIFACTS, 'ui-queues.png'), fullPage: true });
		expect(outside).toEqual([]);
	});

	it('fits a phone screen', async () => {
		const page = await browser.context.newPage();
		await page.setViewportSize({ width: 390, height: 844 });
		await page.goto(`${served.url}/ui/#batch=${BATCH}`);
		await page.locator('.detail [data-count="succeeded"]').waitFor();
		// A string runs in the page (this file is compiled without the DOM's types).
		const overflow = await page.evaluate(
			'document.documentElement.scrollWidth - document.documentElement.clientWidth',
		);
		expect(overflow).toBeLessThanOrEqual(0);
		await page.screenshot({ path: path.join(ARTIFACTS, 'ui-phone.png'), fullPage: true });
	});
});
