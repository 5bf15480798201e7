import { sleep } from '../../scripts/lib/process';
import {
	loopItems,
	loopOverItemsWorkflow,
	ourLoopWorkflow,
	startLoopSink,
	type LoopSink,
} from '../harness/loop-workflow';
import { benchStack, log, round, sampleRss, serviceCredential, type BenchStack } from './n8n-bench';

/**
 * `npm run bench -- loop [--items 50000] [--chunk 100]`: Split Into Chunks -> Loop beside n8n's
 * Loop Over Items, same run, same body: each item POSTed to a local sink (HTTP Request), and for
 * ours Checkpoint Record Results before the body hands the chunk back. Webhook { items } ->
 * Split Out -> loop; Done POSTs to the sink. Each gets a fresh n8n (executions saved, n8n's
 * default); time is from the trigger to Done at the sink; peak RSS is n8n's whole process group.
 * Ours runs twice: with Record Results in the body, and with Record When Handed Back (no
 * Checkpoint node in the body: n8n evaluates its parameters per item, which costs time).
 * n8n keeps every run's output of an execution, so neither loop is flat in memory.
 */
interface Run {
	seconds: number;
	peakRssMb: number;
	baseRssMb: number;
}

export async function run(args: string[]): Promise<void> {
	const arg = (name: string, fallback: number) =>
		args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback;
	const items = arg('--items', 50_000);
	const chunk = arg('--chunk', 100);
	const stack = await benchStack('loop');
	const sink = await startLoopSink();
	try {
		const ours = await measure(stack, sink, 'ours', items, chunk);
		const handBack = await measure(stack, sink, 'ours-handback', items, chunk);
		const loop = await measure(stack, sink, 'loop', items, chunk);
		const line = (name: string, r: Run) =>
			log(
				`${name.padEnd(30)} ${items} items, chunk ${chunk}: ${r.seconds.toFixed(1)} s, peak RSS ${Math.round(r.peakRssMb)} MB (idle ${Math.round(r.baseRssMb)} MB)`,
			);
		line('Split Into Chunks -> Loop', ours);
		line('  Record When Handed Back', handBack);
		line('Loop Over Items', loop);
		log(
			`RESULT loop ours_s=${round(ours.seconds, 1)} loop_s=${round(loop.seconds, 1)} rss_ratio=${round(ours.peakRssMb / loop.peakRssMb)} ours_rss_mb=${Math.round(ours.peakRssMb)} loop_rss_mb=${Math.round(loop.peakRssMb)} handback_s=${round(handBack.seconds, 1)} handback_rss_ratio=${round(handBack.peakRssMb / loop.peakRssMb)} items=${items}`,
		);
	} finally {
		await sink.close();
		await stack.stop();
	}
}

async function measure(
	stack: BenchStack,
	sink: LoopSink,
	who: 'ours' | 'ours-handback' | 'loop',
	items: number,
	chunkSize: number,
): Promise<Run> {
	const n8n = await stack.n8n(`${who}-${items}`);
	try {
		const path = `bench-${who}`;
		const options = { name: `bench ${who}`, path, sinkUrl: sink.url, chunkSize };
		const workflow =
			who === 'loop'
				? loopOverItemsWorkflow(options)
				: ourLoopWorkflow({
						...options,
						credential: await serviceCredential(n8n, stack.service),
						recordOnReturn: who === 'ours-handback',
					});
		await n8n.createAndActivate(workflow);
		sink.deliveries.clear();
		sink.dones.length = 0;
		const body = { batchKey: `bench-loop-${Date.now()}`, items: loopItems(items) };
		const sampler = sampleRss(n8n);
		const baseRssMb = sampler.peak();
		const started = Date.now();
		const answer = await n8n.callWebhook(path, body, { timeoutMs: 120_000 });
		if (answer.status !== 200) throw new Error(`${who}: webhook answered ${answer.status}`);
		const deadline = started + 60 * 60_000;
		while (sink.dones.length === 0) {
			if (!n8n.main.alive()) throw new Error(`${who}: n8n died (${sink.deliveries.size} worked)`);
			if (Date.now() > deadline) throw new Error(`${who}: no Done within an hour`);
			await sleep(100);
		}
		const seconds = (Date.now() - started) / 1000;
		// Done is the last node; the execution is saved after it: its memory counts too.
		await sleep(3_000);
		const peakRssMb = sampler.stop();
		if (sink.deliveries.size !== items || sink.dones.length !== 1) {
			throw new Error(`${who}: ${sink.deliveries.size} items worked, Done ${sink.dones.length}x`);
		}
		log(`${who}: ${seconds.toFixed(1)} s, peak RSS ${Math.round(peakRssMb)} MB`);
		return { seconds, peakRssMb, baseRssMb };
	} finally {
		await n8n.stop().catch(() => undefined);
	}
}
