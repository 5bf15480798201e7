import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import type { N8nApi } from '../../scripts/lib/n8n/api';
import {
	deadLetters,
	deliveries,
	installCampaignTemplates,
	intakeExecution,
	lastOutput,
	postCampaign,
	recipientKey,
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
 * 10,000 recipients through the shipped e-mail templates in a real n8n and the real SMTP sink:
 * some greylisted (451 once, at RCPT or at the end of DATA), some unknown (550). Every recipient
 * is delivered exactly once or dead-lettered with its SMTP code, and the intake execution waits
 * in n8n for the whole campaign, then ends with a report whose numbers are the sink's.
 */
const TOTAL = 10_000;
const LIST = recipients(TOTAL);
const pick = (rest: number[]) => new Set(LIST.filter((_, n) => rest.includes(n % 100)));
const GREY_RCPT = pick([7]);
const GREY_DATA = pick([21]);
const GONE_RCPT = pick([13]);
const GONE_DATA = pick([42]);
const GONE = new Set([...GONE_RCPT, ...GONE_DATA]);

describe('e-mail campaign: 10,000 recipients through the templates and a real SMTP sink', () => {
	jest.setTimeout(15 * 60_000);
	let n8n: N8nApi;
	let sink: SmtpSink;
	let service: CampaignService;
	let templates: CampaignTemplates;

	beforeAll(async () => {
		const stack = getStack();
		n8n = n8nClient();
		sink = await startSmtpSink({
			failures: [
				{ recipients: (a) => GREY_RCPT.has(a), code: 451, at: 'rcpt', once: true },
				{ recipients: (a) => GREY_DATA.has(a), code: 451, at: 'data', once: true },
				{ recipients: (a) => GONE_RCPT.has(a), code: 550, at: 'rcpt' },
				{ recipients: (a) => GONE_DATA.has(a), code: 550, at: 'data' },
			],
		});
		service = await startCampaignService({
			redisUrl: stack.redisUrl,
			logFile: join(stack.runDir, 'email-campaign-service.log'),
		});
		templates = await installCampaignTemplates(n8n, {
			service,
			smtp: sink,
			patch: (_file, node) => {
				// Test-sized backoff: a greylisted recipient is tried again within a second.
				if (node.type.endsWith('.splitIntoChunks')) {
					Object.assign(node.parameters.options as object, {
						chunkSize: 100,
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

	it('delivers each recipient once or dead-letters it with its SMTP code; the report equals the sink', async () => {
		const campaignId = unique('campaign');
		const subject = `Spring news ${campaignId}`;
		const answer = await postCampaign(
			n8n,
			templates,
			{
				campaignId,
				reportTo: 'owner@sender.test',
				subject,
				text: 'Hello!',
				// Mixed case and spaces: the key is the trimmed, lower-cased address.
				recipients: LIST.map((email, n) =>
					n % 3 === 0 ? { email: ` ${email.toUpperCase()} ` } : email,
				),
			},
			180_000,
		);
		expect(answer.status).toBe(200);
		expect(answer.body).toMatchObject({ batchId: campaignId, accepted: TOTAL, duplicates: 0 });

		// While the campaign runs, its intake execution waits in n8n's Executions list.
		const service_ = serviceClient(service);
		const waiting = await intakeExecution(
			n8n,
			templates.intakeId,
			campaignId,
			(e) => e.status === 'waiting',
			60_000,
		);
		const during = await service_.request<Progress>('GET', `/v1/batches/${campaignId}`);
		expect(during.state).not.toMatch(/^completed/);

		const done = await waitForCampaign(service_, campaignId, 10 * 60_000);
		expect(done.state).toBe('completed_with_errors');
		expect(done.counts).toMatchObject({
			total: TOTAL,
			succeeded: TOTAL - GONE.size,
			deadLettered: GONE.size,
			inDoubt: 0,
		});

		// The sink: every deliverable recipient exactly once, no unknown one ever.
		const delivered = deliveries(sink, subject);
		const duplicates = [...delivered].filter(([, count]) => count > 1);
		expect(duplicates).toEqual([]);
		const lost = LIST.filter((email) => !GONE.has(email) && !delivered.has(email));
		expect(lost).toEqual([]);
		expect([...GONE].filter((email) => delivered.has(email))).toEqual([]);
		// Greylisted recipients were refused once each, then delivered.
		const greyRefused = sink.refusals.filter((r) => r.code === 451).map((r) => r.recipient);
		expect(new Set(greyRefused)).toEqual(new Set([...GREY_RCPT, ...GREY_DATA]));

		// Dead letters: exactly the unknown recipients, each with its SMTP code.
		const letters = await deadLetters(service_, campaignId);
		expect(letters.map((l) => l.key).sort()).toEqual([...GONE].map(recipientKey).sort());
		for (const letter of letters) {
			expect(letter).toMatchObject({ class: 'smtp_550', message: expect.stringContaining('550') });
		}

		// The intake execution resumed by the completion URL: Success, the report as its output.
		const finished = await intakeExecution(
			n8n,
			templates.intakeId,
			campaignId,
			(e) => e.id === waiting.id && e.status === 'success',
			120_000,
		);
		const output = lastOutput(finished) as {
			state: string;
			report: { summary: Record<string, number>; error_categories: Record<string, number> };
		};
		expect(output.state).toBe('completed_with_errors');
		expect(output.report.summary).toMatchObject({
			total_items: TOTAL,
			succeeded: delivered.size,
			failed: GONE.size,
			in_doubt: 0,
		});
		expect(output.report.error_categories).toEqual({ smtp_550: GONE.size });
		const summaryMail = sink.messages.filter((m) => m.to.includes('owner@sender.test'));
		expect(summaryMail.map((m) => m.subject)).toEqual([
			`Campaign ${campaignId}: completed_with_errors`,
		]);

		// The status webhook answers with the campaign's progress.
		const status = await n8n.callWebhook<Progress>(
			`${templates.statusPath}?campaignId=${campaignId}`,
			undefined,
			{ method: 'GET' },
		);
		expect(status.status).toBe(200);
		expect(status.body).toMatchObject({ batchId: campaignId, state: 'completed_with_errors' });

		// Each worker execution recorded its chunk with one request, whatever branches its items took.
		const workerRuns = await n8n.listExecutions({
			workflowId: templates.workerId,
			includeData: true,
			limit: 20,
		});
		expect(workerRuns.length).toBeGreaterThan(0);
		for (const run of workerRuns) {
			expect(run.status).toBe('success');
			expect(run.data?.resultData.runData['Checkpoint Record Results']).toHaveLength(1);
			expect(run.data?.resultData.metadata).toMatchObject({ batchId: campaignId });
		}
	});

	it('takes the recipients from a CSV (an email column) and refuses a request without them', async () => {
		const rows = recipients(200, 'csv');
		const csv = [
			'name,email',
			...rows.map((email, n) => `Reader ${n},${email.toUpperCase()}`),
		].join('\n');
		const server: Server = createServer((_req, res) => {
			res.writeHead(200, { 'content-type': 'text/csv' }).end(csv);
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		try {
			const csvUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/list.csv`;
			const campaignId = unique('csv');
			const subject = `From a CSV ${campaignId}`;
			const base = {
				campaignId,
				from: 'news@sender.test',
				subject,
				workerUrl: templates.workerUrl,
			};
			const answer = await n8n.callWebhook(templates.intakePath, { ...base, csvUrl });
			expect(answer.body).toMatchObject({ batchId: campaignId, accepted: 200 });
			const done = await waitForCampaign(serviceClient(service), campaignId, 3 * 60_000);
			expect(done.counts).toMatchObject({ succeeded: 200, deadLettered: 0 });
			const delivered = deliveries(sink, subject);
			expect(rows.filter((email) => delivered.get(email) !== 1)).toEqual([]);

			const refused = await n8n.callWebhook<{ message?: string }>(templates.intakePath, {
				...base,
				campaignId: unique('empty'),
			});
			expect(refused.status).toBeGreaterThanOrEqual(400);
		} finally {
			server.close();
		}
	});
});
