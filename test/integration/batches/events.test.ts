import { BatchEvents } from '../../../service/src/batches/events';
import { createTestService, type TestService } from '../../harness/service';
import { api } from './helpers';

/**
 * BatchEvents.next() resolves to the state the batch changed to (found while building direct
 * delivery: it used to resolve '' always, so a chunk waiting for limiter tokens never saw a pause
 * or cancel and kept its reservation).
 */
describe('batches: BatchEvents.next() resolves with the state the batch changed to', () => {
	let service: TestService;
	let events: BatchEvents;
	beforeAll(() => {
		service = createTestService();
		events = new BatchEvents(service.ctx);
	});
	afterAll(async () => {
		await events.close();
		await service.cleanup();
	});

	it('answers paused after a pause', async () => {
		await api(service.app).post('/v1/batches', { batchKey: 'events-1' });
		const next = await events.next('events-1');
		await api(service.app).post('/v1/batches/events-1/pause');
		expect(await next.changed).toBe('paused');
	});
});
