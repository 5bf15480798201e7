/**
 * One n8n process (main, queue worker or webhook processor) that can be killed and restarted
 * with the same folder, ports and settings, as the crash tests and `npm start` need.
 */
import { groupAlive, sleep, spawnGroup, stopGroup, tail } from '../process';

export type N8nRole = 'main' | 'worker' | 'webhook';

export interface N8nProcess {
	role: N8nRole;
	/** `main`, `worker-1`, `webhook-1`: also the log file's name. */
	name: string;
	/** The running process (its group's id); changes on restart. */
	readonly pid: number;
	/** HTTP port: the editor/API for main, webhooks for a webhook processor, health for a worker. */
	port: number;
	logFile: string;
	userFolder: string;
	alive(): boolean;
	/** Signals the process group (SIGKILL by default) and waits until it is gone. */
	kill(signal?: NodeJS.Signals): Promise<void>;
	/** Starts it again as before and waits until it answers ready. */
	restart(): Promise<void>;
	/** SIGTERM (n8n finishes running executions first), SIGKILL after 30 s. */
	stop(): Promise<void>;
}

export interface N8nProcessSpec {
	role: N8nRole;
	name: string;
	nodeBin: string;
	n8nEntry: string;
	args?: string[];
	userFolder: string;
	env: NodeJS.ProcessEnv;
	logFile: string;
	port: number;
	/** Answers 200 once the process serves (n8n's /healthz/readiness). */
	readyUrl: string;
	/** Further check once readyUrl answers (main: the owner can log in). */
	ready?: () => Promise<void>;
	timeoutMs?: number;
}

const COMMANDS: Record<N8nRole, string> = { main: 'start', worker: 'worker', webhook: 'webhook' };

export async function launchN8nProcess(spec: N8nProcessSpec): Promise<N8nProcess> {
	let pid = 0;
	const launch = async () => {
		const child = spawnGroup(
			spec.nodeBin,
			[spec.n8nEntry, COMMANDS[spec.role], ...(spec.args ?? [])],
			{
				cwd: spec.userFolder,
				env: spec.env,
				logFile: spec.logFile,
			},
		);
		pid = child.pid as number;
		try {
			await waitReady(spec, () => groupAlive(child.pid as number));
		} catch (error) {
			await stopGroup(pid, 5_000);
			throw error;
		}
	};
	await launch();
	return {
		role: spec.role,
		name: spec.name,
		get pid() {
			return pid;
		},
		port: spec.port,
		logFile: spec.logFile,
		userFolder: spec.userFolder,
		alive: () => groupAlive(pid),
		kill: async (signal: NodeJS.Signals = 'SIGKILL') => {
			try {
				process.kill(-pid, signal);
			} catch {
				return;
			}
			if (signal === 'SIGKILL' || signal === 'SIGTERM') await stopGroup(pid, 30_000);
		},
		restart: launch,
		stop: async () => void (await stopGroup(pid, 30_000)),
	};
}

async function waitReady(spec: N8nProcessSpec, alive: () => boolean): Promise<void> {
	const timeoutMs = spec.timeoutMs ?? 120_000;
	const deadline = Date.now() + timeoutMs;
	let last = 'no answer yet';
	while (Date.now() < deadline) {
		if (!alive()) {
			throw new Error(`n8n ${spec.name} exited during start; log tail:\n${tail(spec.logFile)}`);
		}
		try {
			const response = await fetch(spec.readyUrl, { signal: AbortSignal.timeout(2000) });
			await response.arrayBuffer();
			if (response.ok) {
				await spec.ready?.();
				return;
			}
			last = `readiness HTTP ${response.status}`;
		} catch (error) {
			last = (error as Error).message;
		}
		await sleep(500);
	}
	throw new Error(
		`n8n ${spec.name} not up after ${timeoutMs} ms (last: ${last}); log tail:\n${tail(spec.logFile)}`,
	);
}
