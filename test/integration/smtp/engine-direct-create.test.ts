import type { Config } from '../../../service/src/config';
import { createTestService, type TestService } from '../../harness/service';
import { api } from '../batches/helpers';

/**
 * POST /v1/batches with `delivery: 'smtp'` must name a transport the service has: accepted, such a
 * batch could never be sent (its items were given back and leased again for ever). The create is
 * refused, naming the field and the transports the service has (GET /v1/transports).
 */
describe('engine: a direct batch must name a transport the service has', () => {
	const services: TestService[] = [];
	afterAll(async () => {
		for (const service of services) await service.cleanup();
	});
	const create = (service: TestService, transport: string) =>
		api(service.app).post('/v1/batches', {
			batchKey: `direct-${transport}`,
			delivery: 'smtp',
			smtp: { transport, from: 'news@sender.test' },
		});

	it('is refused with 400 naming smtp.transport on a service with no transports', async () => {
		const service = createTestService();
		services.push(service);
		const res = await create(service, 'relay');
		expect(res.status).toBe(400);
		expect(res.body.error.message).toMatch(/smtp\.transport/);
	});

	it('is refused with 400 naming smtp.transport when the name is not one of its transports', async () => {
		const service = createTestService({
			SMTP_TRANSPORT_RELAY: 'smtp://127.0.0.1:2525?ignoreTLS=true',
		} as Partial<Record<keyof Config, string>>);
		services.push(service);
		expect((await create(service, 'relay')).status).toBe(201);
		const res = await create(service, 'elsewhere');
		expect(res.status).toBe(400);
		expect(res.body.error.message).toMatch(/smtp\.transport.*relay/);
	});
});
