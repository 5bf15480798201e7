/**
 * The e-mail campaign walkthrough `npm start` prints: where the inbox is, a ready-to-paste curl
 * for a 1,000-recipient campaign, and where to watch it in n8n.
 */
import type { ImportedWorkflow } from './workflows';

export const WALKTHROUGH_CAMPAIGN = 'welcome-1';

const hookOf = (workflows: ImportedWorkflow[], file: string) =>
	workflows.find((w) => w.file === file && w.active)?.webhooks[0]?.url;

/** The body of the sample campaign, made by node in the user's shell (1,000 addresses). */
const SAMPLE_BODY =
	`node -e 'console.log(JSON.stringify({campaignId:"${WALKTHROUGH_CAMPAIGN}",` +
	`from:"news@example.com",subject:"Welcome",text:"Hello from Batch Guardian",` +
	'recipients:Array.from({length:1000},(_,i)=>"user"+i+"@example.com")}))\'';

export function walkthrough(workflows: ImportedWorkflow[], inboxUrl: string): string[] {
	const intake = hookOf(workflows, 'email-campaign-intake.json');
	const worker = hookOf(workflows, 'email-campaign-worker.json');
	const status = hookOf(workflows, 'email-campaign-status.json');
	if (!intake || !worker) {
		return [
			'',
			'E-mail campaign: the intake and worker templates are not both published (see above).',
		];
	}
	const lines = [
		'',
		'E-mail campaign in 3 steps:',
		`  1. Open the inbox: ${inboxUrl}/`,
		'  2. Send 1,000 e-mails (paste into a shell):',
		`     curl -sS -X POST ${intake} \\`,
		"       -H 'content-type: application/json' \\",
		`       -d "$(${SAMPLE_BODY})"`,
		`     (sending the same campaignId again adds only new recipients; change it for a new campaign)`,
		"  3. Watch it in n8n > Executions: 'Email campaign: intake' stays Waiting until the campaign",
		"     ends, then shows the report and e-mails a summary; each chunk is one 'Email campaign: worker'",
		'     execution.',
	];
	if (status) {
		lines.push(`     Progress: curl -sS '${status}?campaignId=${WALKTHROUGH_CAMPAIGN}'`);
	}
	return lines;
}
