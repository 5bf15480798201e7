import { registry } from '../../../service/src/metrics';
import {
	forgetBatch,
	OTHER_BATCHES,
	recordItemOutcomes,
	setBatchLabelLimits,
	startChunk,
} from '../../../service/src/observability/metrics';

async function series(
	name: string,
): Promise<Array<{ labels: Record<string, unknown>; value: number }>> {
	const metric = registry.getSingleMetric(name);
	if (!metric) throw new Error(`${name} is not registered`);
	return (await metric.get()).values.map((v) => ({ labels: v.labels, value: v.value }));
}

describe('per-batch metric series are bounded', () => {
	beforeAll(() => setBatchLabelLimits({ maxBatches: 3, lingerMs: 50 }));

	it('counts past the cap under _other, keeping totals exact', async () => {
		for (const id of ['b1', 'b2', 'b3', 'b4', 'b5']) recordItemOutcomes(id, 'succeeded', 10);
		const perBatch = await series('bg_batch_items_total');
		const batches = new Set(perBatch.map((s) => s.labels.batch));
		expect(batches).toEqual(new Set(['b1', 'b2', 'b3', OTHER_BATCHES]));
		expect(perBatch.find((s) => s.labels.batch === OTHER_BATCHES)?.value).toBe(20);
		const total = await series('bg_items_total');
		expect(total.find((s) => s.labels.outcome === 'succeeded')?.value).toBe(50);
	});

	it('removes a finished batch after the linger and frees its slot', async () => {
		const end = startChunk('b1');
		end('ok');
		end('ok'); // a second call must not count twice
		expect((await series('bg_chunks_in_flight')).find((s) => s.labels.batch === 'b1')?.value).toBe(
			0,
		);
		forgetBatch('b1');
		expect((await series('bg_batch_items_total')).some((s) => s.labels.batch === 'b1')).toBe(true);
		await new Promise((resolve) => setTimeout(resolve, 120));
		const after = await series('bg_batch_items_total');
		expect(after.some((s) => s.labels.batch === 'b1')).toBe(false);
		expect((await series('bg_chunks_in_flight')).some((s) => s.labels.batch === 'b1')).toBe(false);
		recordItemOutcomes('b6', 'dead_lettered', 2);
		const labels = (await series('bg_batch_items_total')).map((s) => s.labels.batch);
		expect(labels).toContain('b6');
		const histogram = await series('bg_chunk_duration_seconds');
		expect(histogram.find((s) => s.labels.le === '+Inf' && s.labels.outcome === 'ok')?.value).toBe(
			1,
		);
	});

	it('keeps a batch that runs again (a replay) before its linger ends', async () => {
		recordItemOutcomes('b2', 'succeeded', 1);
		forgetBatch('b2');
		recordItemOutcomes('b2', 'succeeded', 1);
		await new Promise((resolve) => setTimeout(resolve, 120));
		const b2 = (await series('bg_batch_items_total')).find((s) => s.labels.batch === 'b2');
		expect(b2?.value).toBe(12);
	});
});
