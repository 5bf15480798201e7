import type {
	IExecuteFunctions,
	IHttpRequestOptions,
	ILoadOptionsFunctions,
	INodeExecutionData,
} from 'n8n-workflow';

import type { Config } from '../../../service/src/config';
import { createTestService, TEST_API_KEY, type TestService } from '../../harness/service';
import { startSmtpSink, type SmtpSink } from '../../harness/smtp-sink';
import { mockContext } from '../../unit/nodes/mock-context';
import { serveApp, waitDone } from '../batches/helpers';
import { splitIntoChunks } from './live-node';

/**
 * Split Into Chunks with Delivery "Direct SMTP": the transport list loaded from the service, and a
 * submitted batch the service sends itself to the real SMTP sink (real service, real Redis).
 */
describe('Split Into Chunks -> Direct SMTP delivery (real service, real Redis, real sink)', () => {
	let sink: SmtpSink;
	let service: TestService;
	let served: { url: string; close(): Promise<void> };
	const respond = async (req: IHttpRequestOptions) => {
		const response = await fetch(String(req.url), {
			method: req.method,
			headers: { 'content-type': 'application/json', ...(req.headers as Record<string, string>) },
			body: req.body === undefined ? undefined : JSON.stringify(req.body),
		});
		const text = await response.text();
		return { statusCode: response.status, body: text ? JSON.parse(text) : undefined };
	};
	const context = (parameters: Record<string, unknown>, items: INodeExecutionData[] = []) =>
		mockContext({
			parameters,
			items,
			credentials: { baseUrl: served.url, apiKey: TEST_API_KEY },
			respond,
		}).ctx;
	const listTransports = (ctx: IExecuteFunctions) =>
		splitIntoChunks.nodeVersions[1].methods!.loadOptions!.listTransports.call(
			ctx as unknown as ILoadOptionsFunctions,
		);

	beforeAll(async () => {
		sink = await startSmtpSink();
		service = createTestService(
			{
				SMTP_TRANSPORT_SINK: `smtp://${sink.host}:${sink.port}?pool=4&ignoreTLS=true`,
			} as Partial<Record<keyof Config, string>>,
			{ dispatcher: true },
		);
		served = await serveApp(service.app);
	});
	afterAll(async () => {
		await served.close();
		await service.cleanup();
		await sink.close();
	});

	it('lists the transports the service has', async () => {
		expect(await listTransports(context({}))).toEqual([
			{ name: 'sink', value: 'sink', description: `127.0.0.1:${sink.port}, 4 connections` },
		]);
	});

	it('says how to configure one when the service has none', async () => {
		const bare = createTestService();
		const bareServed = await serveApp(bare.app);
		try {
			const ctx = mockContext({
				parameters: {},
				credentials: { baseUrl: bareServed.url, apiKey: TEST_API_KEY },
				respond,
			}).ctx;
			await expect(listTransports(ctx)).rejects.toThrow(
				'The Batch Guardian service has no SMTP transport',
			);
		} finally {
			await bareServed.close();
			await bare.cleanup();
		}
	});

	it('submits a batch the service delivers itself, with the default From and Message-ID domain', async () => {
		const items = ['ann', 'bob', 'cy'].map((name) => ({
			json: { to: `${name}@example.test`, subject: 'Direct', text: `Hi ${name}` },
		}));
		const ctx = context(
			{
				operation: 'submitBatch',
				batchKey: 'direct-node',
				delivery: 'smtp',
				smtpTransport: 'sink',
				smtpFrom: 'News <news@sender.test>',
				messageIdDomain: 'mail.sender.test',
				outputMode: 'summary',
				keySource: 'field',
				keyField: 'to',
				options: { hashKeys: true, inDoubt: 'hold' },
			},
			items,
		);
		const [[summary]] = (await splitIntoChunks.nodeVersions[1].execute!.call(
			ctx,
		)) as INodeExecutionData[][];
		expect(summary.json).toMatchObject({ batchId: 'direct-node', accepted: 3 });
		const done = await waitDone(service.app, 'direct-node');
		expect(done.counts).toMatchObject({ succeeded: 3, deadLettered: 0 });
		const got = sink.byRecipient.get('bob@example.test');
		expect(got).toHaveLength(1);
		expect(got![0].from).toBe('news@sender.test');
		expect(got![0].messageId).toMatch(/^<[0-9a-f]{64}@mail\.sender\.test>$/);
	});

	it('refuses a bad Message-ID domain before anything is sent', async () => {
		const ctx = context(
			{
				operation: 'submitBatch',
				batchKey: 'direct-bad',
				delivery: 'smtp',
				smtpTransport: 'sink',
				messageIdDomain: '<example.com>',
				keySource: 'field',
				keyField: 'to',
				options: { hashKeys: true },
			},
			[{ json: { to: 'a@example.test', subject: 's', text: 't' } }],
		);
		await expect(splitIntoChunks.nodeVersions[1].execute!.call(ctx)).rejects.toThrow(
			"'Message-ID Domain' is not a domain name: '<example.com>'",
		);
	});
});
