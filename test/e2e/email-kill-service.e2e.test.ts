import { join } from 'node:path';

import type { N8nApi } from '../../scripts/lib/n8n/api';
import { sleep } from '../../scripts/lib/process';
import {
	deadLetters,
	deliveries,
	installCampaignTemplates,
	intakeExecution,
	lastOutput,
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
 * kill -9 of the companion service mid-campaign (in-doubt hold), restarted on the same port a
 * moment later. n8n's chunk executions go on and record their results once it is back (the
 * Batch Guardian nodes retry on failure), so nothing is lost, held or sent twice.
 */
const TOTAL = 1500;
const LIST = recipients(TOTAL, 'ks');

describe('e-mail campaign: kill -9 of the service mid-campaign', () => {
	jest.setTimeout(10 * 60_000);
	let n8n: N8nApi;
	let sink: SmtpSink;
	let service: CampaignService;
	let templates: CampaignTemplates;

	beforeAll(async () => {
		const stack = getStack();
		n8n = n8nClient();
		sink = await startSmtpSink({ latencyMs: 5 });
		service = await startCampaignService({
			redisUrl: stack.redisUrl,
			logFile: join(stack.runDir, 'email-kill-service.log'),
			// A dead process's chunk jobs are taken over after a few seconds, not the default 30.
			env: { DISPATCH_LOCK_MS: '3000', LEASE_GRACE_MS: '1000' },
		});
		templates = await installCampaignTemplates(n8n, {
			service,
			smtp: sink,
			patch: (_file, node) => {
				if (node.type.endsWith('.splitIntoChunks')) {
					Object.assign(node.parameters.options as object, { chunkSize: 50, timeoutMs: 60_000 });
				}
			},
		});
	});

	afterAll(async () => {
		await service?.stop();
		await sink?.close();
	});

	it('delivers every recipient exactly once, holds none, and the intake still ends with the report', async () => {
		const campaignId = unique('kill-service');
		const subject = `News ${campaignId}`;
		const answer = await postCampaign(
			n8n,
			templates,
			{ campaignId, subject, recipients: LIST },
			120_000,
		);
		expect(answer.status).toBe(200);
		const api = serviceClient(service);
		await intakeExecution(
			n8n,
			templates.intakeId,
			campaignId,
			(e) => e.status === 'waiting',
			60_000,
		);

		while (deliveries(sink, subject).size < TOTAL / 3) await sleep(20);
		const before = await api.request<Progress>('GET', `/v1/batches/${campaignId}`);
		await service.kill();
		const deliveredAtKill = deliveries(sink, subject).size;
		await sleep(500);
		await service.restart();
		process.stderr.write(
			`killed the service with ${before.counts.inFlight} items in flight, ${deliveredAtKill} delivered\n`,
		);
		expect(before.counts.inFlight).toBeGreaterThan(0);
		expect(deliveredAtKill).toBeLessThan(TOTAL);

		const done = await waitForCampaign(api, campaignId, 6 * 60_000);
		expect(done.state).toBe('completed');
		expect(done.counts).toMatchObject({ succeeded: TOTAL, deadLettered: 0, inDoubt: 0 });
		expect(await deadLetters(api, campaignId)).toEqual([]);
		const delivered = deliveries(sink, subject);
		expect(LIST.filter((email) => delivered.get(email) !== 1)).toEqual([]);

		const finished = await intakeExecution(
			n8n,
			templates.intakeId,
			campaignId,
			(e) => e.status === 'success',
			120_000,
		);
		expect(lastOutput(finished)).toMatchObject({
			state: 'completed',
			report: { summary: { succeeded: TOTAL, failed: 0, in_doubt: 0 } },
		});
	});
});
