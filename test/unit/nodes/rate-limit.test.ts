import type { IHttpRequestOptions } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { RateLimit } from '../../../nodes/RateLimit/RateLimit.node';
import { sliceByCapacity } from '../../../nodes/RateLimit/v1/actions/limiter/waitForCapacity.operation';
import { mockContext, transportFailure } from './mock-context';

const node = new RateLimit();
const v1 = node.nodeVersions[1];
const limiter = { limiterKey: 'smtp', capacity: 10, refillAmount: 600, refillUnit: 'minute' };
const settings = { capacity: 10, refillAmount: 600, refillUnit: 'minute', adaptive: false };
type Output = Array<
	Array<{ json: Record<string, unknown>; pairedItem?: unknown; error?: unknown }>
>;

const itemsOf = (count: number) => Array.from({ length: count }, (_, i) => ({ json: { n: i } }));
const ok = (body: unknown) => ({ statusCode: 200, body });

async function run(options: Parameters<typeof mockContext>[0]) {
	const { ctx, calls } = mockContext(options);
	const output = (await v1.execute!.call(ctx)) as Output;
	const bodies = calls.map((c) => c.options.body as Record<string, unknown>);
	return { output, calls, bodies };
}

describe('Rate Limit node v1', () => {
	it('describes itself: versioned, credential, three operations, Split has two outputs', () => {
		expect(node.description.name).toBe('rateLimit');
		expect(v1.description.credentials).toEqual([{ name: 'batchGuardianApi', required: true }]);
		const operation = v1.description.properties.find((p) => p.name === 'operation');
		expect(operation?.options?.map((o) => (o as { value: string }).value)).toEqual([
			'waitForCapacity',
			'split',
			'reportThrottle',
		]);
		expect(String(v1.description.outputs)).toMatch(/"split".*Allowed.*Limited/);
	});

	describe('Wait for Capacity', () => {
		const params = { ...limiter, operation: 'waitForCapacity', costPerItem: 1, maxWaitMs: 5000 };

		it('acquires the summed cost of the items in capacity-sized slices and passes them on', async () => {
			const { output, calls, bodies } = await run({
				parameters: { ...params, costPerItem: 3 },
				items: itemsOf(7),
				respond: () => ok({ granted: true, waitedMs: 1000, retryAfterMs: 0 }),
			});
			// 7 items x 3 tokens, at most 10 per acquire: 3+3+3, 3+3+3, 3.
			expect(bodies.map((b) => b.cost)).toEqual([9, 9, 3]);
			// Max Wait bounds the whole execution: each slice gets what the earlier ones left.
			expect(bodies.map((b) => b.maxWaitMs)).toEqual([5000, 4000, 3000]);
			expect(bodies[0].settings).toEqual(settings);
			expect(calls[0].options).toMatchObject({
				method: 'POST',
				url: 'http://service.test:3030/v1/limiters/smtp/acquire',
				timeout: 35_000,
			});
			expect(output[0].map((i) => i.json)).toEqual(itemsOf(7).map((i) => i.json));
			expect(output[0].map((i) => i.pairedItem)).toEqual(
				Array.from({ length: 7 }, (_, i) => ({ item: i })),
			);
		});

		it('groups items by limiter key (an expression per item)', async () => {
			const { calls, bodies } = await run({
				parameters: (i) => ({ ...params, limiterKey: i % 2 ? 'odd' : 'even' }),
				items: itemsOf(4),
				respond: () => ok({ granted: true, waitedMs: 0, retryAfterMs: 0 }),
			});
			expect(calls.map((c) => String(c.options.url).split('/')[5])).toEqual(['even', 'odd']);
			expect(bodies.map((b) => b.cost)).toEqual([2, 2]);
		});

		it('stops with the refusal when Max Wait runs out and Continue On Fail is off', async () => {
			const failing = run({
				parameters: params,
				respond: () => ok({ granted: false, waitedMs: 0, retryAfterMs: 7_000 }),
			});
			await expect(failing).rejects.toBeInstanceOf(NodeOperationError);
			await expect(failing).rejects.toThrow("No capacity on limiter 'smtp' within 5000 ms");
		});

		it('with Continue On Fail: granted slices pass, refused items carry error and retryAfterMs', async () => {
			let call = 0;
			const { output } = await run({
				continueOnFail: true,
				parameters: { ...params, costPerItem: 5 },
				items: itemsOf(4),
				respond: () =>
					call++ === 0
						? ok({ granted: true, waitedMs: 0, retryAfterMs: 0 })
						: ok({ granted: false, waitedMs: 0, retryAfterMs: 900 }),
			});
			expect(output[0].map((i) => i.json)).toEqual([
				{ n: 0 },
				{ n: 1 },
				expect.objectContaining({ error: expect.stringMatching(/No capacity/), retryAfterMs: 900 }),
				expect.objectContaining({ retryAfterMs: 900 }),
			]);
			expect(output[0][2].pairedItem).toEqual({ item: 2 });
		});

		it('turns a service failure into a NodeApiError for the items of that key', async () => {
			const failing = run({
				parameters: params,
				respond: () => transportFailure('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:3030'),
			});
			await expect(failing).rejects.toBeInstanceOf(NodeApiError);
			const { output } = await run({
				continueOnFail: true,
				parameters: params,
				respond: () => ({
					statusCode: 400,
					body: { error: { code: 'invalid_request', message: 'Invalid body: cost ...' } },
				}),
			});
			expect(output[0][0].json).toMatchObject({ error: 'Invalid body: cost ...', httpCode: '400' });
		});
	});

	describe('Split', () => {
		const params = { ...limiter, operation: 'split', costPerItem: 1 };

		it('sends items with tokens to Allowed and the rest to Limited with retryAfterMs', async () => {
			const { output, bodies, calls } = await run({
				parameters: params,
				items: itemsOf(5),
				respond: () => ok({ granted: 3, retryAfterMs: 100 }),
			});
			expect(calls[0].options.url).toBe('http://service.test:3030/v1/limiters/smtp/take');
			expect(bodies[0]).toEqual({ costs: [1, 1, 1, 1, 1], settings });
			expect(output[0].map((i) => i.json)).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
			expect(output[1].map((i) => i.json)).toEqual([
				{ n: 3, retryAfterMs: 100 },
				{ n: 4, retryAfterMs: 100 },
			]);
			expect(output[1].map((i) => i.pairedItem)).toEqual([{ item: 3 }, { item: 4 }]);
		});

		it('with Continue On Fail, a bad item goes to the first output with its error', async () => {
			const { output, bodies } = await run({
				continueOnFail: true,
				parameters: [params, { ...params, costPerItem: 11 }],
				items: itemsOf(2),
				respond: () => ok({ granted: 1, retryAfterMs: 0 }),
			});
			expect(bodies[0].costs).toEqual([1]);
			expect(output[0][1].json.error).toMatch(/'Cost per Item' \(11\) is above 'Capacity' \(10\)/);
			expect(output[1]).toEqual([]);
		});
	});

	describe('Report Throttle', () => {
		const params = { ...limiter, operation: 'reportThrottle', retryAfterUnit: 'seconds' };
		const state = { limiterKey: 'smtp', state: 'paused', pausedForMs: 5000 };

		it('reports once per key with the longest Retry-After and passes items with the state', async () => {
			const { output, bodies, calls } = await run({
				parameters: [
					{ ...params, retryAfter: '5' },
					{ ...params, retryAfter: 2 },
				],
				items: itemsOf(2),
				respond: () => ok(state),
			});
			expect(calls).toHaveLength(1);
			expect(calls[0].options.url).toBe('http://service.test:3030/v1/limiters/smtp/throttle');
			expect(bodies[0]).toEqual({ retryAfterMs: 5000, settings });
			expect(output[0].map((i) => i.json)).toEqual([
				{ n: 0, limiter: state },
				{ n: 1, limiter: state },
			]);
		});

		it.each([
			['', 'seconds', undefined],
			['1.5', 'seconds', 1500],
			['250', 'milliseconds', 250],
		])('reads Retry After %p (%s) as %p ms', async (retryAfter, retryAfterUnit, expected) => {
			const { bodies } = await run({
				parameters: { ...params, retryAfter, retryAfterUnit },
				respond: () => ok(state),
			});
			expect(bodies[0].retryAfterMs).toBe(expected);
		});

		it('reads an HTTP date', async () => {
			const at = new Date(Date.now() + 10_000).toUTCString();
			const { bodies } = await run({
				parameters: { ...params, retryAfter: at },
				respond: () => ok(state),
			});
			expect(bodies[0].retryAfterMs).toBeGreaterThan(8_000);
			expect(bodies[0].retryAfterMs).toBeLessThanOrEqual(10_000);
		});
	});

	describe('parameter validation, before any request', () => {
		const base = { ...limiter, operation: 'waitForCapacity', costPerItem: 1, maxWaitMs: 1000 };
		it.each([
			[{ limiterKey: '' }, /'Limiter Key' is empty/],
			[{ limiterKey: 'has spaces' }, /'Limiter Key' is not a valid id/],
			[{ capacity: 0 }, /'Capacity' must be a whole number from 1/],
			[{ capacity: 2.5 }, /'Capacity' must be a whole number/],
			[{ refillAmount: 0 }, /'Refill Amount' must be a whole number from 1/],
			[{ refillAmount: -10 }, /'Refill Amount' must be a whole number from 1/],
			[{ refillUnit: 'day' }, /'Refill Unit' must be second, minute or hour, got 'day'/],
			[{ costPerItem: 0 }, /'Cost per Item' must be a whole number from 1/],
			[{ costPerItem: 1.5 }, /'Cost per Item' must be a whole number/],
			[{ costPerItem: 11 }, /'Cost per Item' \(11\) is above 'Capacity' \(10\)/],
			[{ maxWaitMs: -1 }, /'Max Wait \(ms\)' must be a whole number from 0 to 600000/],
			[{ operation: 'reportThrottle', retryAfter: 'soon' }, /'Retry After' must be/],
		])('refuses %j', async (override, message) => {
			const { ctx, calls } = mockContext({
				parameters: { ...base, ...override },
				respond: () => ok({}),
			});
			const failing = v1.execute!.call(ctx);
			await expect(failing).rejects.toBeInstanceOf(NodeOperationError);
			await expect(failing).rejects.toThrow(message);
			expect(calls).toHaveLength(0);
		});

		it('with Continue On Fail, only the bad item fails; the others are acquired', async () => {
			const { output, bodies } = await run({
				continueOnFail: true,
				parameters: [base, { ...base, capacity: 0 }, base],
				items: itemsOf(3),
				respond: (req: IHttpRequestOptions) => ok({ granted: true, waitedMs: 0, req: req.url }),
			});
			expect(bodies.map((b) => b.cost)).toEqual([2]);
			expect(output[0].map((i) => Object.keys(i.json))).toEqual([['n'], ['n', 'error'], ['n']]);
			expect(output[0][1].pairedItem).toEqual({ item: 1 });
		});
	});

	it('slices never exceed capacity and keep item order', () => {
		const items = [4, 4, 4, 10, 1].map((cost, itemIndex) => ({
			itemIndex,
			cost,
			limiterKey: 'k',
			settings: { ...settings, refillUnit: 'minute' as const },
		}));
		expect(sliceByCapacity(items, 10).map((s) => s.map((i) => i.cost))).toEqual([
			[4, 4],
			[4],
			[10],
			[1],
		]);
	});
});
