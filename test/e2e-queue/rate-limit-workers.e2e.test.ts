import { readFileSync } from 'node:fs';

import type { N8nApi } from '../../scripts/lib/n8n/api';
import {
	createServiceCredential,
	getStack,
	n8nClient,
	serveHttp,
	serviceRequest,
	unique,
	webhookChain,
} from '../e2e/helpers';
import { maxInWindow, type Grant } from '../harness/rate-windows';

const RATE_PER_MIN = 600;
const CAPACITY = 10;
const CALLERS = 4;
const ITEMS_PER_CALL = 5;

interface Arrival extends Grant {
	execution: string;
}

/** Execution ids a worker's log says it started (workers log each one at info). */
const startedBy = (logFile: string) =>
	new Set(
		[...readFileSync(logFile, 'utf8').matchAll(/Worker started execution (\d+)/g)].map((m) => m[1]),
	);

/**
 * One limiter key shared by 4 concurrent executions that n8n's queue hands to two workers (two
 * processes, each its own Rate Limit node instances): the rate at the downstream is the key's,
 * within 2 % over a steady minute, because the bucket lives in Redis, not in a process.
 */
describe('Rate Limit across two n8n queue-mode workers', () => {
	let n8n: N8nApi;
	let sink: Awaited<ReturnType<typeof serveHttp>>;
	const arrivals: Arrival[] = [];

	beforeAll(async () => {
		n8n = n8nClient();
		await n8n.login();
		sink = await serveHttp((req, res) => {
			const url = new URL(req.url ?? '/', 'http://127.0.0.1');
			arrivals.push({
				at: Date.now(),
				cost: 1,
				caller: Number(url.searchParams.get('client')),
				execution: String(url.searchParams.get('execution')),
			});
			res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
		});
	});

	afterAll(async () => {
		await sink?.stop();
	});

	it('holds 4 executions spread over both workers to one 600/min key within 2 % over 60 s', async () => {
		const workers = getStack().n8n.workers;
		expect(workers).toHaveLength(2);
		const credential = await createServiceCredential(n8n, 'rate-limit-workers');
		const limiterKey = unique('queue-rate');
		const path = unique('queue-paced');
		// Webhook -> Split Out (5 items) -> Rate Limit (Wait for Capacity) -> one GET per item.
		await n8n.createAndActivate(
			webhookChain(unique('e2e-queue rate limit'), path, [
				{
					name: 'Split Out',
					type: 'n8n-nodes-base.splitOut',
					typeVersion: 1,
					parameters: { fieldToSplitOut: 'body.items', options: {} },
				},
				{
					name: 'Rate Limit',
					type: 'n8n-nodes-batch-guardian.rateLimit',
					typeVersion: 1,
					parameters: {
						operation: 'waitForCapacity',
						limiterKey,
						capacity: CAPACITY,
						refillAmount: RATE_PER_MIN,
						refillUnit: 'minute',
						maxWaitMs: 30_000,
					},
					credentials: { batchGuardianApi: credential },
				},
				{
					name: 'Call Sink',
					type: 'n8n-nodes-base.httpRequest',
					typeVersion: 4.2,
					parameters: {
						method: 'GET',
						url: `=${sink.url}/ok?client={{ $('Webhook').item.json.body.client }}&execution={{ $execution.id }}`,
						options: {},
					},
				},
			]),
		);

		// Callers go on well past the steady minute, so demand covers all of it.
		const deadline = Date.now() + 66_000;
		const items = Array.from({ length: ITEMS_PER_CALL }, (_, i) => ({ i }));
		const failures: string[] = [];
		await Promise.all(
			Array.from({ length: CALLERS }, async (_, client) => {
				while (Date.now() < deadline) {
					const answer = await n8n.callWebhook(path, { client, items }, { timeoutMs: 45_000 });
					if (answer.status !== 200)
						failures.push(`${answer.status} ${JSON.stringify(answer.body)}`);
				}
			}),
		);
		expect(failures.slice(0, 3)).toEqual([]);

		// The steady minute starts a second after the first grant: the initial burst (the bucket's
		// capacity) is its contract, not its rate. Grants are counted where they land: the sink.
		const first = Math.min(...arrivals.map((a) => a.at));
		const steady = arrivals.filter((a) => a.at >= first + 1_000 && a.at < first + 61_000);
		const byWorker = workers.map((w) => startedBy(w.logFile));
		const executions = [...new Set(arrivals.map((a) => a.execution))];
		const ranOn = (index: number) => executions.filter((id) => byWorker[index].has(id));
		const steadyOn = (index: number) => steady.filter((a) => byWorker[index].has(a.execution));
		console.log(
			`rate-limit across workers: ${steady.length} in the steady minute (configured ${RATE_PER_MIN}), ` +
				`max ${maxInWindow(arrivals, 1_000)} in 1 s, ${maxInWindow(arrivals, 60_000)} in 60 s; ` +
				`${executions.length} executions: worker-1 ${ranOn(0).length}, worker-2 ${ranOn(1).length} ` +
				`(steady-minute grants ${steadyOn(0).length} / ${steadyOn(1).length})`,
		);
		expect(Math.max(...arrivals.map((a) => a.at))).toBeGreaterThanOrEqual(first + 61_000);
		expect(Math.abs(steady.length - RATE_PER_MIN)).toBeLessThanOrEqual(RATE_PER_MIN * 0.02);
		expect(maxInWindow(arrivals, 60_000)).toBeLessThanOrEqual(CAPACITY + RATE_PER_MIN + 1);
		// At every scale too: capacity + 10 per second (+2: n8n adds a little jitter after grants).
		expect(maxInWindow(arrivals, 1_000)).toBeLessThanOrEqual(CAPACITY + 10 + 2);

		// Spread: every execution ran on a worker, and each worker's grants are a real share.
		expect(executions.filter((id) => !byWorker[0].has(id) && !byWorker[1].has(id))).toEqual([]);
		for (const index of [0, 1]) {
			expect(steadyOn(index).length).toBeGreaterThanOrEqual(RATE_PER_MIN * 0.1);
		}
		for (let client = 0; client < CALLERS; client++) {
			expect(steady.filter((a) => a.caller === client).length).toBeGreaterThan(60);
		}
		const state = await serviceRequest<{ grantedTokens: number }>(
			'GET',
			`/v1/limiters/${limiterKey}`,
		);
		expect(state.body.grantedTokens).toBe(arrivals.length);
	}, 150_000);
});
