import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { N8nApi } from '../../scripts/lib/n8n/api';
import {
	cleanEnv,
	freePort,
	groupAlive,
	portFree,
	sleep,
	spawnGroup,
	stopGroup,
	tail,
} from '../../scripts/lib/process';

const REPO_ROOT = path.resolve(__dirname, '../..');
const NODE_TYPES = ['batchStatus', 'checkpoint', 'rateLimit', 'splitIntoChunks'].map(
	(name) => `n8n-nodes-batch-guardian.${name}`,
);

/** `npm start` as a newcomer runs it: the whole stack on its own ports and data folder, then Ctrl-C. */
describe('npm start', () => {
	const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bg-start-'));
	const logFile = path.join(dataDir, 'npm-start.log');
	let pgid = 0;
	let ports: { n8n: number; service: number; redis: number };

	afterAll(async () => {
		if (pgid && groupAlive(pgid)) await stopGroup(pgid, 5_000);
		rmSync(dataDir, { recursive: true, force: true });
	});

	const output = () => readFileSync(logFile, 'utf8');

	it('brings up Redis, the service and n8n with every node and template, then stops on Ctrl-C', async () => {
		ports = { n8n: await freePort(), service: await freePort(), redis: await freePort() };
		const child = spawnGroup('npm', ['start'], {
			cwd: REPO_ROOT,
			logFile,
			env: cleanEnv({
				BG_DATA_DIR: dataDir,
				N8N_PORT: String(ports.n8n),
				SERVICE_PORT: String(ports.service),
				BG_REDIS_PORT: String(ports.redis),
				REDIS_URL: '',
				N8N_LOG_LEVEL: 'warn',
				LOG_LEVEL: 'warn',
			}),
		});
		pgid = child.pid ?? 0;
		const deadline = Date.now() + 300_000;
		while (!output().includes('Batch Guardian is running.')) {
			if (!groupAlive(pgid) || Date.now() > deadline) {
				throw new Error(`npm start did not come up; its output:\n${tail(logFile, 6000)}`);
			}
			await sleep(500);
		}
		const text = output();
		const login = /n8n login\s+(\S+) \/ (\S+)/.exec(text);
		expect(text).toContain(`n8n editor     http://127.0.0.1:${ports.n8n}/`);
		expect(text).toMatch(new RegExp(`service\\s+http://127\\.0\\.0\\.1:${ports.service}`));
		expect(login).not.toBeNull();
		expect(text).toMatch(/workflow\s+.+\(batch-intake\.json, active\)/);
		expect(text).toMatch(/workflow\s+.+\(batch-worker\.json, active\)/);
		expect(text).toMatch(/POST\s+http:\/\/127\.0\.0\.1:\d+\/webhook\//);

		const apiKey = readFileSync(path.join(dataDir, 'api-key'), 'utf8').trim();
		const ready = await fetch(`http://127.0.0.1:${ports.service}/ready`, {
			headers: { 'x-api-key': apiKey },
		});
		expect(ready.status).toBe(200);
		expect(await ready.json()).toMatchObject({ status: 'ready', redis: 'up' });

		const n8n = new N8nApi(`http://127.0.0.1:${ports.n8n}`, {
			email: login![1],
			password: login![2],
		});
		await n8n.login();
		expect(await n8n.nodeTypes()).toEqual(expect.arrayContaining(NODE_TYPES));

		// Ctrl-C in a terminal signals the whole foreground group.
		process.kill(-pgid, 'SIGINT');
		const stopBy = Date.now() + 60_000;
		while (groupAlive(pgid) && Date.now() < stopBy) await sleep(200);
		expect(groupAlive(pgid)).toBe(false);
		const stopped = output()
			.split('\n')
			.map((line) => /\[start\] (\w+) stopped/.exec(line)?.[1])
			.filter(Boolean);
		expect(stopped).toEqual(['n8n', 'service', 'redis']);
		for (const port of Object.values(ports)) expect(await portFree(port)).toBe(true);
	}, 420_000);
});
