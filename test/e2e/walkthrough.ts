/**
 * The e-mail walkthrough `npm start` prints, followed as a newcomer would: paste its curl, watch
 * the Executions list and the inbox (screenshots by Debian's Chromium into test/artifacts; with
 * BG_UPDATE_DOCS=1 also into docs/ for the README).
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

import type { Owner } from '../../scripts/lib/n8n/api';
import { sleep } from '../../scripts/lib/process';
import { launchChromium } from '../harness/chromium';

const ARTIFACTS = path.resolve(__dirname, '../artifacts');
const DOCS = path.resolve(__dirname, '../../docs');

/** The curl command of step 2, joined from its printed lines (backslash continuations). */
export function walkthroughCurl(output: string): string {
	const lines = output.split('\n');
	const start = lines.findIndex((line) => line.trim().startsWith('curl -sS -X POST'));
	if (start < 0) throw new Error(`no walkthrough curl in npm start's output:\n${output}`);
	const command: string[] = [];
	for (let i = start; i < lines.length; i++) {
		const line = lines[i].trim();
		command.push(line.replace(/\\$/, ''));
		if (!line.endsWith('\\')) break;
	}
	return command.join(' ');
}

/** Runs a printed command in bash, as pasted into a shell; answers its stdout. */
export async function paste(command: string): Promise<string> {
	return await new Promise((resolve, reject) => {
		const child = spawn('bash', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
		let out = '';
		let err = '';
		child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
		child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
		child.on('error', reject);
		child.on('exit', (code) =>
			code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${err}\n${command}`)),
		);
	});
}

export interface InboxMail {
	subject: string;
	to: Array<{ address: string }>;
	text?: string;
}

export async function inbox(inboxUrl: string): Promise<InboxMail[]> {
	const response = await fetch(`${inboxUrl}/email`);
	if (!response.ok) throw new Error(`maildev /email: HTTP ${response.status}`);
	return (await response.json()) as InboxMail[];
}

/** Polls the inbox until `done` says so; bounded. */
export async function waitForInbox(
	inboxUrl: string,
	done: (mails: InboxMail[]) => boolean,
	timeoutMs: number,
): Promise<InboxMail[]> {
	const deadline = Date.now() + timeoutMs;
	let mails: InboxMail[] = [];
	while (Date.now() < deadline) {
		mails = await inbox(inboxUrl);
		if (done(mails)) return mails;
		await sleep(1000);
	}
	throw new Error(`inbox not as expected after ${timeoutMs} ms: ${mails.length} mails`);
}

function artifact(file: string): string {
	mkdirSync(ARTIFACTS, { recursive: true });
	return path.join(ARTIFACTS, file);
}

function publish(file: string): void {
	if (!process.env.BG_UPDATE_DOCS) return;
	mkdirSync(DOCS, { recursive: true });
	copyFileSync(path.join(ARTIFACTS, file), path.join(DOCS, file));
}

/**
 * Signs in to the n8n editor and shoots the Executions list once `ready` says so, scrolled to the
 * row naming `focus`; answers the rows' text.
 */
export async function shootExecutions(
	n8nUrl: string,
	owner: Owner,
	file: string,
	focus: string,
	ready: (rows: string) => boolean,
): Promise<string> {
	// Tall enough for a campaign's first chunk executions and, below them, its intake.
	const browser = await launchChromium({ viewport: { width: 1400, height: 1500 } });
	try {
		const page = await browser.context.newPage();
		await page.goto(`${n8nUrl}/signin`);
		await page.fill('input[name=emailOrLdapLoginId]', owner.email);
		await page.fill('input[name=password]', owner.password);
		await page.click('button:has-text("Sign in")');
		await page.waitForURL((url) => !url.pathname.startsWith('/signin'), { timeout: 30_000 });
		await page.goto(`${n8nUrl}/home/executions`);
		let rows = '';
		for (let i = 1; i <= 90 && !ready(rows); i++) {
			await sleep(500);
			// The list refreshes itself; a reload now and then covers a refresh that stalled.
			if (i % 20 === 0) await page.reload();
			rows = await page
				.locator('table tbody')
				.innerText()
				.catch(() => '');
			// A page holds 20 executions; on a slow machine a campaign's chunk executions push the
			// row in focus (its intake, started first) to the next page.
			if (rows && !rows.includes(focus)) {
				await page
					.getByRole('button', { name: 'Load more' })
					.click({ timeout: 2_000 })
					.catch(() => undefined);
			}
		}
		if (!ready(rows)) {
			await page.screenshot({ path: artifact(`failed-${file}`) });
			throw new Error(
				`n8n's Executions list never showed what was awaited (screenshot ${artifact(`failed-${file}`)}); its rows:\n${rows}`,
			);
		}
		await page.getByText(focus).first().scrollIntoViewIfNeeded();
		await page.screenshot({ path: artifact(file) });
		publish(file);
		return rows;
	} finally {
		await browser.close();
	}
}

/** Shoots maildev's inbox with the mail of `subject` open. */
export async function shootInbox(inboxUrl: string, file: string, subject: string): Promise<void> {
	const browser = await launchChromium({ viewport: { width: 1400, height: 900 } });
	try {
		const page = await browser.context.newPage();
		await page.goto(`${inboxUrl}/`);
		const mail = page.getByText(subject).first();
		await mail.waitFor({ timeout: 30_000 });
		await mail.click();
		await page
			.getByText('Delivered:')
			.first()
			.waitFor({ timeout: 30_000 })
			.catch(() => undefined);
		await page.screenshot({ path: artifact(file) });
		publish(file);
	} finally {
		await browser.close();
	}
}
