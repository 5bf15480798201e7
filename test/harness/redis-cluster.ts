import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';

import { startEmbeddedRedis, type EmbeddedRedis } from '../../service/src/redis/embedded';
import { freePort } from './redis';

export interface TestCluster {
	/** `host:port,host:port,host:port`, as REDIS_CLUSTER_NODES takes it. */
	nodes: string;
	stop(): Promise<void>;
}

const quiet = { info: () => undefined, warn: () => undefined };

/**
 * A real local Redis Cluster of three masters (no replicas): three redis-server processes with
 * `--cluster-enabled yes`, joined by `redis-cli --cluster create`, ready when every node says
 * cluster_state:ok.
 */
export async function startTestCluster(): Promise<TestCluster> {
	const dir = mkdtempSync(path.join(os.tmpdir(), 'bg-cluster-'));
	const servers: EmbeddedRedis[] = [];
	try {
		for (let i = 0; i < 3; i++) {
			const port = await freePort();
			servers.push(
				await startEmbeddedRedis(path.join(dir, String(i)), port, quiet, {
					aof: false,
					reuseIfAnswering: false,
					ownProcessGroup: false,
					extraArgs: [
						'--cluster-enabled',
						'yes',
						'--cluster-config-file',
						path.join(dir, `nodes-${i}.conf`),
						'--cluster-node-timeout',
						'3000',
					],
				}),
			);
		}
		const addresses = servers.map((s) => `127.0.0.1:${s.port}`);
		await run('redis-cli', [
			'--cluster',
			'create',
			...addresses,
			'--cluster-replicas',
			'0',
			'--cluster-yes',
		]);
		for (const server of servers) await untilClusterOk(server.url);
		return {
			nodes: addresses.join(','),
			stop: async () => {
				for (const server of servers) await server.stop();
				rmSync(dir, { recursive: true, force: true });
			},
		};
	} catch (error) {
		for (const server of servers) await server.stop().catch(() => undefined);
		rmSync(dir, { recursive: true, force: true });
		throw error;
	}
}

function run(command: string, args: string[]): Promise<void> {
	return new Promise((resolve, reject) => {
		const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
		let output = '';
		child.stdout.on('data', (d: Buffer) => (output += d.toString()));
		child.stderr.on('data', (d: Buffer) => (output += d.toString()));
		child.on('error', reject);
		child.on('exit', (code) =>
			code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} failed: ${output}`)),
		);
	});
}

async function untilClusterOk(url: string): Promise<void> {
	const redis = new Redis(url);
	try {
		for (let i = 0; i < 100; i++) {
			if ((await redis.cluster('INFO')).includes('cluster_state:ok')) return;
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
		throw new Error(`cluster node ${url} did not reach cluster_state:ok`);
	} finally {
		redis.disconnect();
	}
}
