import { randomBytes } from 'node:crypto';

import { messageIdOf } from '../../service/src/batches/dispatch/smtp/message';
import { startPrivateRedis } from '../harness/redis';
import { startSmtpSink, type SinkFailure } from '../harness/smtp-sink';
import { callApi, serviceProcess } from './fleet';

export interface KillServiceDirectResult {
	items: number;
	kills: number;
	inDoubtPolicy: 'hold' | 'retry';
	/** Items that ended neither succeeded nor dead-lettered. */
	lost: number;
	succeeded: number;
	/** Dead letters with an SMTP code (550s), as the sink refused them. */
	refused: number;
	/** Dead letters of class in_doubt: inside a transaction when the service died. */
	held: number;
	/** Of the held ones, how many the sink had in fact accepted. */
	heldDelivered: number;
	/** Message-IDs the sink accepted more than once (and how many extra copies). */
	duplicates: number;
	/** Succeeded items the sink has no message of, or more than one. */
	succeededNotOnce: number;
	/** Refused items the sink has a message of. */
	refusedButDelivered: number;
	/** Items whose outcome contradicts the sink's rules (an unknown address succeeded, a known one refused). */
	mismatched: number;
	/** Dead letters of any other class (there should be none). */
	otherDeadLetters: Record<string, number>;
	seconds: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const DOMAINS = ['example.test', 'mail.example.test', 'corp.example.test'];

/**
 * Direct delivery (the service sends every e-mail itself over pooled SMTP) with kill -9 of its
 * only process, restarted a moment later, `kills` times mid-campaign. Some recipients are
 * greylisted (451 once, at RCPT or at the end of DATA), some unknown (550 5.1.1). The sink counts
 * by Message-ID, which is the same on every attempt of an item, so a resend would show.
 */
export async function killServiceDirect(
	options: {
		items?: number;
		kills?: number;
		inDoubt?: 'hold' | 'retry';
		latencyMs?: number;
		/** SIGKILL (default) or SIGTERM: a graceful stop finishes open transactions first. */
		signal?: NodeJS.Signals;
	} = {},
): Promise<KillServiceDirectResult> {
	const total = options.items ?? 10_000;
	const kills = options.kills ?? 2;
	const inDoubt = options.inDoubt ?? 'hold';
	const list = Array.from({ length: total }, (_, n) => `r${n}@${DOMAINS[n % DOMAINS.length]}`);
	const unknown = (n: number) => n % 100 === 13 || n % 100 === 42;
	const at =
		(...rest: number[]) =>
		(address: string) =>
			rest.includes(Number(/^r(\d+)@/.exec(address)?.[1]) % 100);
	const failures: SinkFailure[] = [
		{ recipients: at(7), code: 451, at: 'rcpt', once: true },
		{ recipients: at(21), code: 451, at: 'data', once: true },
		{ recipients: at(13), code: 550, at: 'rcpt' },
		{ recipients: at(42), code: 550, at: 'data' },
	];
	const sink = await startSmtpSink({ latencyMs: options.latencyMs ?? 10, failures });
	const redis = await startPrivateRedis();
	const prefix = `chaos-${randomBytes(4).toString('hex')}`;
	const service = await serviceProcess(redis.url, prefix, {
		SMTP_TRANSPORT_SINK: `smtp://${sink.host}:${sink.port}?pool=40&ignoreTLS=true&timeout=5000`,
		// Short lock and lease grace: takeover within seconds, not the production 30 s.
		DISPATCH_LOCK_MS: '2000',
		LEASE_GRACE_MS: '1000',
		DISPATCH_CONCURRENCY: '16',
	});
	const started = Date.now();
	try {
		await service.start();
		const batchKey = `direct-${randomBytes(3).toString('hex')}`;
		await callApi(service.url, 'POST', '/v1/batches', {
			batchKey,
			delivery: 'smtp',
			smtp: { transport: 'sink', from: 'News <news@sender.test>' },
			chunkSize: 100,
			concurrency: 8,
			timeoutMs: 5000,
			inDoubt,
			backoff: { initialMs: 200, maxMs: 1000 },
		});
		const keyOf = (n: number) => `r-${n}`;
		for (let i = 0; i < total; i += 1000) {
			const items = list.slice(i, i + 1000).map((to, j) => ({
				key: keyOf(i + j),
				json: { to, subject: `Campaign ${batchKey}`, text: `Hello ${to}` },
			}));
			await callApi(service.url, 'POST', `/v1/batches/${batchKey}/items`, { items });
		}
		await callApi(service.url, 'POST', `/v1/batches/${batchKey}/seal`);
		for (let kill = 1; kill <= kills; kill++) {
			// Spread the kills over the run: after 30 %, then 65 % of the recipients were accepted.
			const mark = (total * (0.3 + (0.35 * (kill - 1)) / Math.max(1, kills - 1))) | 0;
			while (sink.messages.length < Math.min(mark, total * 0.9)) await sleep(5);
			await service.kill(options.signal ?? 'SIGKILL');
			await sleep(300);
			await service.start();
		}
		let progress: any;
		for (let i = 0; i < 30; i++) {
			const waited = await callApi(
				service.url,
				'GET',
				`/v1/batches/${batchKey}/wait?timeoutMs=10000`,
			);
			progress = waited.progress;
			if (waited.done) break;
		}
		const dead = await deadLetterClasses(service.url, batchKey);
		const seen = new Map<string, number>();
		for (const message of sink.messages)
			seen.set(message.messageId, (seen.get(message.messageId) ?? 0) + 1);
		const count = (n: number) => seen.get(messageIdOf(batchKey, keyOf(n), 'sender.test')) ?? 0;
		const result: KillServiceDirectResult = {
			items: total,
			kills,
			inDoubtPolicy: inDoubt,
			lost: total - progress.counts.succeeded - progress.counts.deadLettered,
			succeeded: progress.counts.succeeded,
			refused: 0,
			held: 0,
			heldDelivered: 0,
			duplicates: [...seen.values()].reduce((sum, c) => sum + Math.max(0, c - 1), 0),
			succeededNotOnce: 0,
			refusedButDelivered: 0,
			mismatched: 0,
			otherDeadLetters: {},
			seconds: (Date.now() - started) / 1000,
		};
		for (let n = 0; n < total; n++) {
			const errorClass = dead.get(keyOf(n));
			if (errorClass === undefined) {
				if (count(n) !== 1) result.succeededNotOnce++;
				if (unknown(n)) result.mismatched++;
			} else if (errorClass === 'in_doubt') {
				result.held++;
				if (count(n) > 0) result.heldDelivered++;
			} else if (errorClass === 'smtp_550') {
				result.refused++;
				if (count(n) > 0) result.refusedButDelivered++;
				if (!unknown(n)) result.mismatched++;
			} else {
				result.otherDeadLetters[errorClass] = (result.otherDeadLetters[errorClass] ?? 0) + 1;
			}
		}
		return result;
	} finally {
		await service.kill('SIGKILL');
		await sink.close();
		await redis.stop();
	}
}

/** Every dead letter's class, by item key (the list is paged by 1000, newest last). */
async function deadLetterClasses(url: string, batchKey: string): Promise<Map<string, string>> {
	const classes = new Map<string, string>();
	const progress = await callApi(url, 'GET', `/v1/batches/${batchKey}`);
	for (const errorClass of ['in_doubt', 'smtp_550', ...Object.keys(progress.errorClasses)]) {
		const answer = await callApi(
			url,
			'GET',
			`/v1/batches/${batchKey}/dead-letters?limit=1000&errorClass=${errorClass}`,
		);
		for (const dead of answer.deadLetters) classes.set(dead.key, dead.class);
	}
	return classes;
}

/** `npm run chaos -- kill-service-direct [--items N] [--kills N] [--in-doubt hold|retry] [--signal TERM]` */
export async function run(args: string[]): Promise<void> {
	const arg = (name: string) => {
		const index = args.indexOf(`--${name}`);
		return index >= 0 ? args[index + 1] : undefined;
	};
	const result = await killServiceDirect({
		items: arg('items') ? Number(arg('items')) : undefined,
		kills: arg('kills') ? Number(arg('kills')) : undefined,
		inDoubt: arg('in-doubt') === 'retry' ? 'retry' : 'hold',
		signal: arg('signal') === 'TERM' ? 'SIGTERM' : 'SIGKILL',
	});
	console.log(JSON.stringify(result));
	console.log(
		`RESULT chaos scenario=kill-service-direct items=${result.items} kills=${result.kills} in_doubt_policy=${result.inDoubtPolicy} lost=${result.lost} duplicates=${result.duplicates} held=${result.held} held_delivered=${result.heldDelivered} refused=${result.refused} succeeded=${result.succeeded} seconds=${result.seconds}`,
	);
}
