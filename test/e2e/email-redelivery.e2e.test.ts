import { join } from 'node:path';

import { Redis } from 'ioredis';

import type { N8nApi } from '../../scripts/lib/n8n/api';
import { sleep } from '../../scripts/lib/process';
import { publishWorkflow } from '../../scripts/lib/workflows';
import { Keys } from '../../service/src/redis/keys';
import {
	deliveries,
	installCampaignTemplates,
	intakeExecution,
	postCampaign,
	recipients,
	serviceClient,
	startCampaignService,
	waitForCampaign,
	type CampaignService,
	type CampaignTemplates,
	type Progress,
} from '../harness/email-campaign';
import { startSmtpSink, type SmtpSink } from '../harness/smtp-sink';
import { getStack, n8nClient, unique } from './helpers';

/**
 * What the e-mail templates meet around n8n's own lifecycle: a worker webhook that is not (yet)
 * registered, as during every n8n start or before the user publishes it, and a completion URL
 * (the intake's Wait) that is finished when a replay ends the batch a second time.
 */
describe('e-mail campaign: redelivery around n8n', () => {
	jest.setTimeout(8 * 60_000);
	let n8n: N8nApi;
	let sink: SmtpSink;
	let service: CampaignService;
	let templates: CampaignTemplates;
	const gone = new Set(recipients(100, 'rd').filter((_, n) => n % 10 === 3));

	beforeAll(async () => {
		const stack = getStack();
		n8n = n8nClient();
		sink = await startSmtpSink({
			failures: [{ recipients: (a) => gone.has(a), code: 550, at: 'rcpt' }],
		});
		service = await startCampaignService({
			redisUrl: stack.redisUrl,
			logFile: join(stack.runDir, 'email-redelivery.log'),
			env: { BREAKER_COOLDOWN_MS: '1000' },
		});
		templates = await installCampaignTemplates(n8n, {
			service,
			smtp: sink,
			patch: (_file, node) => {
				if (node.type.endsWith('.splitIntoChunks')) {
					Object.assign(node.parameters.options as object, {
						chunkSize: 20,
						backoffInitialMs: 200,
						backoffMaxMs: 1000,
						maxAttempts: 20,
					});
				}
			},
		});
	});

	afterAll(async () => {
		await service?.stop();
		await sink?.close();
	});

	// Engine: a worker webhook answering 404 "not registered" is dead-lettered as permanent
	// (http_404) although n8n answers so for a few hundred ms at every start and until the worker
	// is published; the items should be retried like other transient failures.
	it('a campaign sent while the worker webhook is not registered reaches everyone once it is', async () => {
		await n8n.deactivate(templates.workerId);
		const campaignId = unique('unpublished');
		const subject = `Hello ${campaignId}`;
		const list = recipients(100, 'up');
		const answer = await postCampaign(
			n8n,
			templates,
			{ campaignId, subject, recipients: list },
			60_000,
		);
		expect(answer.status).toBe(200);
		const api = serviceClient(service);
		// The service has met the 404 at least once before the worker is published.
		const deadline = Date.now() + 30_000;
		let progress = await api.request<Progress>('GET', `/v1/batches/${campaignId}`);
		while (Object.keys(progress.errorClasses).length === 0 && Date.now() < deadline) {
			await sleep(200);
			progress = await api.request<Progress>('GET', `/v1/batches/${campaignId}`);
		}
		expect(Object.keys(progress.errorClasses)).toContain('http_404');
		await publishWorkflow(n8n, templates.workerId);

		const done = await waitForCampaign(api, campaignId, 3 * 60_000);
		expect(done.counts).toMatchObject({ succeeded: list.length, deadLettered: 0 });
		expect(deliveries(sink, subject).size).toBe(list.length);
	});

	// Engine: after a replay, the batch's second completion notice goes to the same completion URL,
	// here the intake's Wait, finished by the first one; n8n answers 409 and the service retries it
	// for ever (attempts: 1,000,000, up to a minute apart). A completion URL that answered once should
	// not be POSTed again (or a 4xx other than 408/429 should end the retries).
	it('a replay after the campaign ended does not leave a completion notice retrying for ever', async () => {
		await publishWorkflow(n8n, templates.workerId).catch(() => undefined);
		const campaignId = unique('replayed');
		const subject = `News ${campaignId}`;
		const list = recipients(100, 'rd');
		const answer = await postCampaign(
			n8n,
			templates,
			{ campaignId, subject, recipients: list },
			60_000,
		);
		expect(answer.status).toBe(200);
		const api = serviceClient(service);
		const first = await waitForCampaign(api, campaignId, 3 * 60_000);
		expect(first.counts.deadLettered).toBe(gone.size);
		await intakeExecution(
			n8n,
			templates.intakeId,
			campaignId,
			(e) => e.status === 'success',
			60_000,
		);

		// The operator replays the 550s (say, after fixing addresses); they fail again and the batch ends again.
		await api.request('POST', `/v1/batches/${campaignId}/dead-letters/retry`, {
			errorClass: 'smtp_550',
		});
		await sleep(1000);
		await waitForCampaign(api, campaignId, 3 * 60_000);
		const redis = new Redis(getStack().redisUrl);
		try {
			const outbox = new Keys(service.keyPrefix).batchPart(campaignId, 'outbox');
			const settleBy = Date.now() + 30_000;
			while ((await redis.llen(outbox)) > 0 && Date.now() < settleBy) await sleep(500);
			expect(await redis.lrange(outbox, 0, -1)).toEqual([]);
		} finally {
			redis.disconnect();
		}
	});
});
