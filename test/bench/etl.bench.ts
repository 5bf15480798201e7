import { randomUUID } from 'node:crypto';

import type { WorkflowJson } from '../../scripts/lib/n8n/api';
import type { N8nInstance } from '../../scripts/lib/n8n/instance';
import { sleep, tail } from '../../scripts/lib/process';
import { createEtlTables, etlTemplate, tableDifferences } from '../harness/etl';
import { scratchDatabase, type ScratchDatabase } from '../harness/postgres';
import { benchStack, log, round, sampleRss, serviceCredential, type BenchStack } from './n8n-bench';

/**
 * `npm run bench -- etl [--rows 100000,500000] [--bound-minutes 30] [--heap-mb N] [--range N]`:
 * a PostgreSQL table copied into another through our ETL template (etl-postgres.json: keyset
 * Ranges dispatched to its worker, 4 at a time) beside the usual n8n way, in the same run: one
 * workflow reads the table (the same SELECT, transform included) and runs Loop Over Items (batch
 * 1,000) -> the same upsert node. Each run gets a fresh n8n (executions saved as the workflows
 * say: n8n's default, our worker saves failures only) and an empty target; rows/min is rows over
 * the time from the trigger to the last row written; peak RSS is n8n's whole process group.
 * `--heap-mb` sets n8n's heap limit for both; `--range` our rows per range (the template's default, 5000). A Loop
 * Over Items run that crashes n8n or passes the bound fails.
 */
interface Run {
	rows: number;
	seconds: number;
	rowsPerMin: number;
	peakRssMb: number;
	failed?: string;
}

export async function run(args: string[]): Promise<void> {
	const arg = (name: string) => args[args.indexOf(name) + 1];
	const sizes = (args.includes('--rows') ? arg('--rows') : '100000,500000').split(',').map(Number);
	const boundMs = Number(args.includes('--bound-minutes') ? arg('--bound-minutes') : 30) * 60_000;
	// n8n's JS heap limit for both (as a container would set it); unset: Node's default.
	const heapMb = args.includes('--heap-mb') ? Number(arg('--heap-mb')) : undefined;
	const env = heapMb ? { NODE_OPTIONS: `--max-old-space-size=${heapMb}` } : {};
	// Rows per range of our template (its default: 5000).
	const rangeSize = args.includes('--range') ? Number(arg('--range')) : undefined;
	const stack = await benchStack('etl');
	const results: Array<{ ours: Run; loop: Run }> = [];
	try {
		for (const rows of sizes) {
			const db = await scratchDatabase('bg_bench_etl');
			try {
				await createEtlTables(db.client, rows);
				await db.client.query('VACUUM ANALYZE etl_source');
				const ours = await measure(stack, db, rows, 'ours', boundMs, env, rangeSize);
				await db.client.query('TRUNCATE etl_target, etl_target_log');
				const loop = await measure(stack, db, rows, 'loop', boundMs, env);
				results.push({ ours, loop });
			} finally {
				await db.drop();
			}
		}
	} finally {
		await stack.stop();
	}
	report(results, heapMb);
}

function report(results: Array<{ ours: Run; loop: Run }>, heapMb?: number): void {
	const line = (name: string, r: Run) =>
		log(
			`${name.padEnd(34)} ${String(r.rows).padStart(7)} rows  ${r.failed ? `FAILED (${r.failed})` : `${r.seconds.toFixed(1)} s  ${Math.round(r.rowsPerMin)} rows/min`}  peak RSS ${Math.round(r.peakRssMb)} MB`,
		);
	for (const { ours, loop } of results) {
		line('Batch Guardian ETL (Ranges)', ours);
		line('Loop Over Items (1,000) + upsert', loop);
	}
	const first = results[0];
	const last = results[results.length - 1];
	// The ratio at the largest size both finished; if Loop Over Items failed, at the first size.
	const both = [...results].reverse().find((r) => !r.loop.failed && !r.ours.failed) ?? first;
	const failed = results.find((r) => r.loop.failed);
	const ratio = both.ours.rowsPerMin / both.loop.rowsPerMin;
	const rss = (pick: (r: { ours: Run; loop: Run }) => Run) =>
		round(pick(last).peakRssMb / pick(first).peakRssMb);
	log(`ratio at ${both.ours.rows} rows: ${ratio.toFixed(2)} (target >= 1.5)`);
	log(
		`RESULT etl ours_rows_per_min=${Math.round(both.ours.rowsPerMin)} loop_rows_per_min=${Math.round(both.loop.rowsPerMin)} ratio=${round(ratio)} rss_ratio_ours=${rss((r) => r.ours)} rss_ratio_loop=${rss((r) => r.loop)} rows=${both.ours.rows}${failed ? ` loop_failed=${failed.loop.failed}@${failed.loop.rows}` : ''}${heapMb ? ` heap_mb=${heapMb}` : ''}`,
	);
}

async function measure(
	stack: BenchStack,
	db: ScratchDatabase,
	rows: number,
	who: 'ours' | 'loop',
	boundMs: number,
	env: NodeJS.ProcessEnv,
	rangeSize?: number,
): Promise<Run> {
	const n8n = await stack.n8n(`${who}-${rows}`, env);
	try {
		const postgres = {
			name: 'Local PostgreSQL',
			id: await n8n.createCredential({
				name: 'Local PostgreSQL',
				type: 'postgres',
				data: db.credential,
			}),
		};
		const credentials = { service: await serviceCredential(n8n, stack.service), postgres };
		let workflowId = '';
		if (who === 'ours') {
			await n8n.createAndActivate(etlTemplate('etl-postgres-worker.json', credentials));
			await n8n.createAndActivate(etlTemplate('etl-postgres.json', credentials));
		} else {
			workflowId = await n8n.createAndActivate(loopOverItemsWorkflow(credentials.postgres));
		}
		const sampler = sampleRss(n8n);
		const started = Date.now();
		let failed: string | undefined;
		if (who === 'ours') await ours(n8n, stack, rows, started, rangeSize);
		else failed = await loopOverItems(n8n, workflowId, boundMs);
		const seconds = (Date.now() - started) / 1000;
		const peakRssMb = sampler.stop();
		if (!failed) {
			const differences = await tableDifferences(db.client);
			if (differences !== 0) throw new Error(`${who}: ${differences} rows differ after the copy`);
		}
		log(
			`${who} ${rows}: ${failed ?? `${seconds.toFixed(1)} s`}, peak RSS ${Math.round(peakRssMb)} MB`,
		);
		return { rows, seconds, rowsPerMin: (rows / seconds) * 60, peakRssMb, failed };
	} finally {
		await n8n.stop().catch(() => undefined);
	}
}

/** Our template: triggered, then done when its batch completes and the cursor is saved. */
async function ours(
	n8n: N8nInstance,
	stack: BenchStack,
	rows: number,
	started: number,
	rangeSize?: number,
) {
	const batchKey = `bench-etl-${rows}-${started}`;
	const answer = await n8n.callWebhook<{ batchId: string }>(
		'etl-postgres',
		{ mode: 'full', batchKey, workerUrl: n8n.webhookUrl('etl-postgres-worker'), rangeSize },
		{ timeoutMs: 300_000 },
	);
	if (answer.status !== 200) throw new Error(`ours: intake answered ${answer.status}`);
	for (;;) {
		const response = await fetch(`${stack.service.url}/v1/batches/${batchKey}`, {
			headers: { 'x-api-key': stack.service.apiKey },
		});
		const progress = (await response.json()) as { state: string };
		if (progress.state === 'completed') return;
		if (['aborted', 'cancelled', 'completed_with_errors'].includes(progress.state)) {
			throw new Error(`ours: batch ended ${progress.state}`);
		}
		await sleep(250);
	}
}

/** Webhook -> read the whole table -> Loop Over Items (1,000) -> upsert -> loop. */
function loopOverItemsWorkflow(postgres: { id: string; name: string }): WorkflowJson {
	const worker = etlTemplate('etl-postgres-worker.json', {
		service: { id: '', name: '' },
		postgres,
	});
	const pick = (name: string) =>
		({
			...(worker.nodes as Array<{ name: string }>).find((n) => n.name === name),
			id: randomUUID(),
		}) as Record<string, unknown>;
	const read = {
		...pick('Read Range'),
		name: 'Read Table',
		alwaysOutputData: false,
		parameters: {
			operation: 'executeQuery',
			// The same columns and transform (trimmed names) as our worker's Read Range.
			query:
				'SELECT id, trim(name) AS name, amount, updated_at::text AS updated_at FROM etl_source ORDER BY id',
			options: {},
		},
	};
	return {
		name: 'Loop Over Items ETL',
		nodes: [
			{
				id: randomUUID(),
				name: 'Webhook',
				type: 'n8n-nodes-base.webhook',
				typeVersion: 2,
				position: [0, 0],
				webhookId: randomUUID(),
				parameters: {
					httpMethod: 'POST',
					path: 'loop-etl',
					responseMode: 'onReceived',
					options: {},
				},
			},
			read,
			{
				id: randomUUID(),
				name: 'Loop Over Items',
				type: 'n8n-nodes-base.splitInBatches',
				typeVersion: 3,
				position: [440, 0],
				parameters: { batchSize: 1000, options: {} },
			},
			pick('Upsert Rows'),
		],
		connections: {
			Webhook: { main: [[{ node: 'Read Table', type: 'main', index: 0 }]] },
			'Read Table': { main: [[{ node: 'Loop Over Items', type: 'main', index: 0 }]] },
			'Loop Over Items': { main: [[], [{ node: 'Upsert Rows', type: 'main', index: 0 }]] },
			'Upsert Rows': { main: [[{ node: 'Loop Over Items', type: 'main', index: 0 }]] },
		},
		settings: { executionOrder: 'v1' },
	};
}

/** Triggers it; done when its execution succeeded, failed when n8n dies or the bound passes. */
async function loopOverItems(
	n8n: N8nInstance,
	workflowId: string,
	boundMs: number,
): Promise<string | undefined> {
	const answer = await n8n.callWebhook('loop-etl', {});
	if (answer.status !== 200) return `webhook_${answer.status}`;
	const deadline = Date.now() + boundMs;
	for (;;) {
		if (!n8n.main.alive()) {
			return /heap out of memory/i.test(tail(n8n.logFile, 20_000))
				? 'out_of_memory'
				: 'n8n_crashed';
		}
		if (Date.now() > deadline) return `over_${Math.round(boundMs / 60_000)}_min`;
		const [last] = await n8n.listExecutions({ workflowId, limit: 1 }).catch(() => []);
		if (last?.status === 'success') return undefined;
		if (last && ['error', 'crashed', 'canceled'].includes(last.status)) return last.status;
		await sleep(500);
	}
}
