import { BatchEvents } from '../../../service/src/batches/events';
import { createTestService, type TestService } from '../../harness/service';
import { api } from '../batches/helpers';

/**
 * Engine defect found while building direct delivery (reported to the engine's owner, not fixed
 * here): BatchEvents.next()'s `changed` promise is documented to resolve to the batch's new state,
 * but its listener calls cancel() (which resolves it with '') before fire(state), so it always
 * resolves ''. The Pacer's check `STOP_STATES.has(await next.changed)` can then never see a pause
 * or cancel: a chunk waiting for limiter tokens keeps its reservation through a pause.
 */
describe('engine: BatchEvents.next() resolves with the state the batch changed to', () => {
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
