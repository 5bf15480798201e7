import { join } from 'node:path';

import type { N8nApi } from '../../scripts/lib/n8n/api';
import { messageIdOf } from '../../service/src/batches/dispatch/smtp/message';
import {
	intakeExecution,
	lastOutput,
	recipientKey,
	recipients,
	serviceClient,
	startCampaignService,
	waitForCampaign,
	type CampaignService,
} from '../harness/email-campaign';
import { installDirectTemplate, type DirectTemplate } from '../harness/email-direct';
import { startSmtpSink, type SmtpSink } from '../harness/smtp-sink';
import { getStack, n8nClient, unique } from './helpers';

/**
 * The direct-delivery template in a real n8n: the intake composes the e-mails and submits them
 * with Delivery "Direct SMTP"; the service sends each one itself over its pooled transport to the
 * real SMTP sink. Greylisted recipients are retried, unknown ones dead-lettered with their code
 * and suppressed, so the next campaign skips them with the reason in its report.
 */
const TOTAL = 2000;
const LIST = recipients(TOTAL, 'd');
const pick = (...rest: number[]) => new Set(LIST.filter((_, n) => rest.includes(n % 100)));
const GREY = pick(7, 21);
const GONE = pick(13, 42);

describe('e-mail campaign, direct delivery: the service sends every e-mail itself', () => {
	jest.setTimeout(10 * 60_000);
	let n8n: N8nApi;
	let sink: SmtpSink;
	let service: CampaignService;
	let template: DirectTemplate;

	beforeAll(async () => {
		const stack = getStack();
		n8n = n8nClient();
		sink = await startSmtpSink({
			failures: [
				{ recipients: (a) => GREY.has(a), code: 451, at: 'rcpt', once: true },
				{ recipients: (a) => GONE.has(a), code: 550, at: 'rcpt' },
			],
		});
		service = await startCampaignService({
			redisUrl: stack.redisUrl,
			logFile: join(stack.runDir, 'email-direct-service.log'),
			env: { SMTP_TRANSPORT_LOCAL: `smtp://${sink.host}:${sink.port}?pool=20&ignoreTLS=true` },
		});
		template = await installDirectTemplate(n8n, {
			service,
			smtp: sink,
			patch: (node) => {
				// Test-sized backoff: a greylisted recipient is tried again within a second.
				if (node.type.endsWith('.splitIntoChunks')) {
					Object.assign(node.parameters.options as object, {
						backoffInitialMs: 200,
						backoffMaxMs: 1000,
					});
				}
			},
		});
	});

	afterAll(async () => {
		await service?.stop();
		await sink?.close();
	});

	const campaign = async (list: string[]) => {
		const campaignId = unique('direct');
		const answer = await n8n.callWebhook<Record<string, unknown>>(
			template.path,
			{
				campaignId,
				from: 'News <news@sender.test>',
				reportTo: 'owner@sender.test',
				subject: `Direct ${campaignId}`,
				text: 'Hello!',
				html: '<p>Hello!</p>',
				recipients: list,
			},
			{ timeoutMs: 180_000 },
		);
		expect(answer.status).toBe(200);
		expect(answer.body).toMatchObject({ batchId: campaignId, accepted: list.length });
		return campaignId;
	};

	/** The intake execution's output once it ended (it waits in n8n while the campaign runs). */
	const finalOutput = async (campaignId: string) =>
		lastOutput(
			await intakeExecution(
				n8n,
				template.workflowId,
				campaignId,
				(e) => e.status === 'success',
				120_000,
			),
		);

	it("lists the service's transports in the editor's SMTP Transport list", async () => {
		await n8n.login();
		const options = await n8n.rest<Array<{ name: string; value: string }>>(
			'POST',
			'/dynamic-node-parameters/options',
			{
				nodeTypeAndVersion: { name: 'n8n-nodes-batch-guardian.splitIntoChunks', version: 1 },
				path: 'smtpTransport',
				methodName: 'listTransports',
				currentNodeParameters: { operation: 'submitBatch', delivery: 'smtp' },
				credentials: { batchGuardianApi: template.credentials.batchGuardianApi },
			},
		);
		expect(options).toEqual([
			{ name: 'local', value: 'local', description: `127.0.0.1:${sink.port}, 20 connections` },
		]);
	});

	it('delivers each recipient once by Message-ID, dead-letters 550s, and the intake ends with the report', async () => {
		const campaignId = await campaign(LIST);
		const api = serviceClient(service);
		const done = await waitForCampaign(api, campaignId, 5 * 60_000);
		expect(done).toMatchObject({
			state: 'completed_with_errors',
			counts: { total: TOTAL, succeeded: TOTAL - GONE.size, deadLettered: GONE.size, inDoubt: 0 },
		});
		const byMessageId = new Map<string, number>();
		for (const message of sink.messages) {
			byMessageId.set(message.messageId, (byMessageId.get(message.messageId) ?? 0) + 1);
		}
		const notOnce = LIST.filter((email) => {
			const count =
				byMessageId.get(messageIdOf(campaignId, recipientKey(email), 'sender.test')) ?? 0;
			return count !== (GONE.has(email) ? 0 : 1);
		});
		expect(notOnce).toEqual([]);
		expect(await finalOutput(campaignId)).toMatchObject({
			state: 'completed_with_errors',
			report: {
				summary: { succeeded: TOTAL - GONE.size, failed: GONE.size, in_doubt: 0 },
				error_categories: { smtp_550: GONE.size },
			},
		});
	});

	it('skips the suppressed addresses in the next campaign, with the reason in its report', async () => {
		const again = [...LIST.slice(0, 100), 'fresh@example.test'];
		const skipped = again.filter((email) => GONE.has(email));
		const campaignId = await campaign(again);
		const done = await waitForCampaign(serviceClient(service), campaignId, 2 * 60_000);
		expect(done.counts).toMatchObject({
			succeeded: again.length - skipped.length,
			deadLettered: skipped.length,
		});
		const report = (await finalOutput(campaignId))?.report as {
			error_categories: Record<string, number>;
			errors: Array<{ error_type: string; error_message: string }>;
		};
		expect(report.error_categories).toEqual({ suppressed: skipped.length });
		expect(report.errors[0].error_message).toMatch(
			/is on the suppression list since .*: the relay answered 550 5\.1\.1 Mailbox unavailable/,
		);
	});
});
