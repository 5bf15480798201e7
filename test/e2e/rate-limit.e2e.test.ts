import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { N8nApi } from '../../scripts/lib/n8n/api';
import { maxInWindow, type Grant } from '../harness/rate-windows';
import {
	getStack,
	n8nClient,
	serviceRequest,
	unique,
	webhookChain,
	type NodeSpec,
} from './helpers';

const NODE_TYPE = 'n8n-nodes-batch-guardian.rateLimit';
const CREDENTIAL_TYPE = 'batchGuardianApi';
const RETRY_AFTER_S = 3;

interface Arrival {
	at: number;
	path: string;
	caller: number;
}

// n8n expressions refuse the name `caller` (a Function property), so the webhook body says `client`.
/**
 * The downstream the workflows call: records when each request arrived. /ok answers 200,
 * /throttle answers 429 with Retry-After. Arrival at the sink is what the limiter must pace.
 */
async function startSink(): Promise<{ url: string; arrivals: Arrival[]; server: Server }> {
	const arrivals: Arrival[] = [];
	const server = createServer((req, res) => {
		const url = new URL(req.url ?? '/', 'http://127.0.0.1');
		arrivals.push({
			at: Date.now(),
			path: url.pathname,
			caller: Number(url.searchParams.get('client')),
		});
		if (url.pathname === '/throttle') {
			res.writeHead(429, {
				'retry-after': String(RETRY_AFTER_S),
				'content-type': 'application/json',
			});
			res.end('{"error":"slow down"}');
			return;
		}
		res.writeHead(200, { 'content-type': 'application/json' });
		res.end('{"ok":true}');
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return { url: `http://127.0.0.1:${port}`, arrivals, server };
}

describe('Rate Limit node in a real n8n', () => {
	let n8n: N8nApi;
	let credential: { id: string; name: string };
	let sink: Awaited<ReturnType<typeof startSink>>;

	const rateLimitNode = (limiterKey: string, parameters: Record<string, unknown>): NodeSpec => ({
		name: 'Rate Limit',
		type: NODE_TYPE,
		typeVersion: 1,
		parameters: { limiterKey, refillAmount: 600, refillUnit: 'minute', ...parameters },
		credentials: { [CREDENTIAL_TYPE]: credential },
	});

	const httpNode = (path: string, options: Record<string, unknown> = {}): NodeSpec => ({
		name: 'Call Sink',
		type: 'n8n-nodes-base.httpRequest',
		typeVersion: 4.2,
		parameters: {
			method: 'GET',
			url: `=${sink.url}${path}?client={{ $('Webhook').item.json.body.client }}`,
			options,
		},
	});

	/**
	 * Webhook -> Split Out (the body's items) -> Rate Limit (Wait for Capacity) -> HTTP Request to
	 * the sink's /ok, one request per item. Several items per execution keep the demand above the
	 * rate even though one n8n process on 2 cores runs only a few executions per second.
	 */
	async function deployPacedCall(limiterKey: string, capacity: number): Promise<string> {
		const path = unique('paced');
		const workflow = webhookChain(unique('e2e rate limit'), path, [
			{
				name: 'Split Out',
				type: 'n8n-nodes-base.splitOut',
				typeVersion: 1,
				parameters: { fieldToSplitOut: 'body.items', options: {} },
			},
			rateLimitNode(limiterKey, { operation: 'waitForCapacity', capacity, maxWaitMs: 30_000 }),
			httpNode('/ok'),
		]);
		await n8n.createAndActivate(workflow);
		return path;
	}

	/** `callers` loops calling a webhook until the deadline; every call is bounded in time. */
	async function callInLoops(path: string, callers: number, durationMs: number, itemsPerCall = 1) {
		const items = Array.from({ length: itemsPerCall }, (_, i) => ({ i }));
		const deadline = Date.now() + durationMs;
		const failures: string[] = [];
		await Promise.all(
			Array.from({ length: callers }, async (_, caller) => {
				for (let call = 0; call < 5_000 && Date.now() < deadline; call++) {
					const answer = await n8n.callWebhook(
						path,
						{ client: caller, items },
						{ timeoutMs: 45_000 },
					);
					if (answer.status !== 200)
						failures.push(`${answer.status} ${JSON.stringify(answer.body)}`);
				}
			}),
		);
		return failures;
	}

	beforeAll(async () => {
		const stack = getStack();
		n8n = n8nClient();
		await n8n.login();
		sink = await startSink();
		credential = {
			name: unique('Batch Guardian rate limit e2e'),
			id: '',
		};
		credential.id = await n8n.createCredential({
			name: credential.name,
			type: CREDENTIAL_TYPE,
			data: { baseUrl: stack.service.url, apiKey: stack.service.apiKey },
		});
	});

	afterAll(async () => {
		sink.server.closeAllConnections();
		await new Promise((resolve) => sink.server.close(resolve));
	});

	it('is installed from the packed package and listed by n8n', async () => {
		expect(await n8n.nodeTypes()).toContain(NODE_TYPE);
	});

	it('holds 4 concurrent executions to one 600/min budget for 60 s', async () => {
		const limiterKey = unique('e2e-rate');
		const path = await deployPacedCall(limiterKey, 10);
		const started = Date.now();

		const failures = await callInLoops(path, 4, 62_000, 5);

		expect(failures.slice(0, 3)).toEqual([]);
		const arrivals: Grant[] = sink.arrivals
			.filter((a) => a.path === '/ok' && a.at >= started)
			.map((a) => ({ at: a.at, cost: 1, caller: a.caller }));
		// The bucket's period is a minute: capacity + 600 at most in any 60 s (+1 for jitter).
		expect(maxInWindow(arrivals, 60_000)).toBeLessThanOrEqual(10 + 600 + 1);
		// And at every scale: capacity + 10 per second (+2: n8n adds a little jitter after grants).
		expect(maxInWindow(arrivals, 1_000)).toBeLessThanOrEqual(10 + 10 + 2);
		// Steady rate after the initial burst, over 60 s: within 10 % of 600/min.
		const steady = arrivals.filter((a) => a.at >= started + 1_000 && a.at < started + 61_000);
		console.log(
			`rate-limit e2e: ${steady.length}/min steady, ${arrivals.length} in all, max ${maxInWindow(arrivals, 1_000)} in 1 s, max ${maxInWindow(arrivals, 60_000)} in 60 s`,
		);
		expect(steady.length).toBeGreaterThanOrEqual(540);
		expect(steady.length).toBeLessThanOrEqual(660);
		for (let caller = 0; caller < 4; caller++) {
			expect(arrivals.filter((a) => a.caller === caller).length).toBeGreaterThan(60);
		}
		const state = await serviceRequest<{ grantedTokens: number }>(
			'GET',
			`/v1/limiters/${limiterKey}`,
		);
		expect(state.body.grantedTokens).toBe(arrivals.length);
	}, 120_000);

	it('a 429 with Retry-After reported downstream pauses every caller of the key', async () => {
		const limiterKey = unique('e2e-throttle');
		const paced = await deployPacedCall(limiterKey, 5);
		// Webhook -> HTTP Request (never error, full response) -> IF 429 -> Report Throttle.
		const throttlePath = unique('throttle');
		const throttleWorkflow = webhookChain(unique('e2e report throttle'), throttlePath, [
			httpNode('/throttle', { response: { response: { fullResponse: true, neverError: true } } }),
			{
				name: 'Is 429',
				type: 'n8n-nodes-base.if',
				typeVersion: 2,
				parameters: {
					conditions: {
						options: { caseSensitive: true, leftValue: '', typeValidation: 'loose' },
						conditions: [
							{
								id: 'status-429',
								leftValue: '={{ $json.statusCode }}',
								rightValue: 429,
								operator: { type: 'number', operation: 'equals' },
							},
						],
						combinator: 'and',
					},
					options: {},
				},
			},
			rateLimitNode(limiterKey, {
				operation: 'reportThrottle',
				capacity: 5,
				retryAfter: "={{ $json.headers['retry-after'] }}",
				retryAfterUnit: 'seconds',
			}),
		]);
		await n8n.createAndActivate(throttleWorkflow);
		const started = Date.now();

		const callers = callInLoops(paced, 3, 8_000);
		await new Promise((resolve) => setTimeout(resolve, 2_000));
		const report = await n8n.callWebhook<{ limiter?: { state: string; pausedForMs: number } }>(
			throttlePath,
			{ client: 99 },
		);
		const reportedAt = Date.now();
		expect((await callers).slice(0, 3)).toEqual([]);

		expect(report.status).toBe(200);
		expect(report.body.limiter).toMatchObject({ state: 'paused' });
		const throttledAt = sink.arrivals.find((a) => a.path === '/throttle' && a.at >= started)!.at;
		const ok = sink.arrivals.filter((a) => a.path === '/ok' && a.at >= started);
		// Before the report reached the service, grants went on; from then on, for 3 s, none.
		const pauseStart = reportedAt;
		const pauseEnd = throttledAt + RETRY_AFTER_S * 1_000;
		expect(pauseStart - throttledAt).toBeLessThan(1_500);
		expect(ok.filter((a) => a.at > pauseStart + 100 && a.at < pauseEnd - 100)).toEqual([]);
		const before = new Set(ok.filter((a) => a.at < throttledAt).map((a) => a.caller));
		const after = new Set(ok.filter((a) => a.at >= pauseEnd - 100).map((a) => a.caller));
		expect(before).toEqual(new Set([0, 1, 2]));
		expect(after).toEqual(new Set([0, 1, 2]));
		const state = await serviceRequest<{ throttles: number }>('GET', `/v1/limiters/${limiterKey}`);
		expect(state.body.throttles).toBe(1);
	}, 60_000);
});
