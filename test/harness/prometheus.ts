import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ensureDebianPackage } from './debian';
import { freePort } from './redis';

export interface Sample {
	metric: Record<string, string>;
	value: number;
}

export interface RunningPrometheus {
	url: string;
	/** An instant query through the HTTP API; throws with Prometheus's error for bad PromQL. */
	query(expr: string): Promise<Sample[]>;
	stop(): Promise<void>;
}

/**
 * Debian's prometheus on a free loopback port, scraping `target` (host:port) every second with
 * the service's API key as bearer token (read from a file, as an operator would set it up).
 */
export async function startPrometheus(
	target: string,
	bearerToken: string,
): Promise<RunningPrometheus> {
	ensureDebianPackage('prometheus', ['--version'], 'prometheus');
	const dir = mkdtempSync(path.join(os.tmpdir(), 'bg-prometheus-'));
	const port = await freePort();
	writeFileSync(path.join(dir, 'token'), bearerToken, { mode: 0o600 });
	writeFileSync(
		path.join(dir, 'prometheus.yml'),
		[
			'global:',
			'  scrape_interval: 1s',
			'  scrape_timeout: 1s',
			'  evaluation_interval: 1s',
			'scrape_configs:',
			'  - job_name: batch-guardian',
			'    metrics_path: /metrics',
			'    authorization:',
			'      type: Bearer',
			`      credentials_file: ${path.join(dir, 'token')}`,
			'    static_configs:',
			`      - targets: ['${target}']`,
			'',
		].join('\n'),
	);
	const child: ChildProcess = spawn(
		'prometheus',
		[
			`--config.file=${path.join(dir, 'prometheus.yml')}`,
			`--storage.tsdb.path=${path.join(dir, 'data')}`,
			`--web.listen-address=127.0.0.1:${port}`,
			'--log.level=warn',
		],
		{ stdio: ['ignore', 'ignore', 'pipe'] },
	);
	let stderr = '';
	child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
	const url = `http://127.0.0.1:${port}`;
	const stop = async (): Promise<void> => {
		if (child.exitCode === null && child.signalCode === null) {
			const exited = new Promise((resolve) => child.once('exit', resolve));
			child.kill('SIGTERM');
			await exited;
		}
		rmSync(dir, { recursive: true, force: true });
	};
	const deadline = Date.now() + 30_000;
	for (;;) {
		const ready = await fetch(`${url}/-/ready`).then(
			(res) => res.ok,
			() => false,
		);
		if (ready) break;
		if (child.exitCode !== null || Date.now() > deadline) {
			await stop();
			throw new Error(`prometheus did not become ready on ${url}: ${stderr}`);
		}
		await new Promise((resolve) => setTimeout(resolve, 200));
	}
	return {
		url,
		stop,
		async query(expr) {
			const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
			const body = (await res.json()) as {
				status: string;
				error?: string;
				data?: {
					resultType: string;
					result: Array<{ metric: Record<string, string>; value: [number, string] }>;
				};
			};
			if (body.status !== 'success') throw new Error(`PromQL ${expr}: ${body.error}`);
			return (body.data?.result ?? []).map((r) => ({
				metric: r.metric,
				value: Number(r.value[1]),
			}));
		},
	};
}
