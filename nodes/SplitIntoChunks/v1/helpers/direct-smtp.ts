import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { requireId } from '../../../shared/parameters';

const smtpOnly = { show: { operation: ['submitBatch'], delivery: ['smtp'] } };

/** Submit Batch's parameters for Direct SMTP delivery: the service sends each item as an e-mail. */
export const directSmtpProperties: INodeProperties[] = [
	{
		displayName:
			'Each item is one e-mail: <code>to</code>, <code>subject</code>, <code>text</code> and/or <code>html</code>, optionally <code>from</code>, <code>replyTo</code> and <code>headers</code>. Compose them before this node (e.g. with Edit Fields).',
		name: 'directSmtpNotice',
		type: 'notice',
		default: '',
		displayOptions: smtpOnly,
	},
	{
		displayName: 'SMTP Transport Name or ID',
		name: 'smtpTransport',
		type: 'options',
		typeOptions: { loadOptionsMethod: 'listTransports' },
		required: true,
		default: '',
		description:
			'A relay the service is configured with (its SMTP_TRANSPORT_&lt;NAME&gt; variable). Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
		displayOptions: smtpOnly,
	},
	{
		displayName: 'Default From',
		name: 'smtpFrom',
		type: 'string',
		default: '',
		placeholder: 'News <news@example.com>',
		description: 'Sender of the items that carry no from field',
		displayOptions: smtpOnly,
	},
	{
		displayName: 'Message-ID Domain',
		name: 'messageIdDomain',
		type: 'string',
		default: '',
		placeholder: 'example.com',
		description:
			"Right side of every Message-ID (&lt;digest@domain&gt;), the same on every attempt of an item so receivers can drop a resend. Empty: the From address's domain.",
		displayOptions: smtpOnly,
	},
];

const DOMAIN = /^[A-Za-z0-9]([A-Za-z0-9-]{0,62}\.)*[A-Za-z0-9-]{1,63}$/;

/** The `smtp` settings of a Direct SMTP batch, checked before anything is sent. */
export function readSmtpSettings(this: IExecuteFunctions, itemIndex: number): IDataObject {
	const smtp: IDataObject = {
		transport: requireId.call(this, 'smtpTransport', 'SMTP Transport', itemIndex),
	};
	const from = String(this.getNodeParameter('smtpFrom', itemIndex, '') ?? '').trim();
	if (from !== '') {
		if (!/@/.test(from)) {
			throw new NodeOperationError(this.getNode(), `'Default From' is not an address: '${from}'`, {
				itemIndex,
				description: 'Write it like news@example.com or News <news@example.com>.',
			});
		}
		smtp.from = from;
	}
	const domain = String(this.getNodeParameter('messageIdDomain', itemIndex, '') ?? '').trim();
	if (domain !== '') {
		if (!DOMAIN.test(domain)) {
			throw new NodeOperationError(
				this.getNode(),
				`'Message-ID Domain' is not a domain name: '${domain}'`,
				{ itemIndex, description: 'Write a domain such as example.com, without @ or <>.' },
			);
		}
		smtp.messageIdDomain = domain;
	}
	return smtp;
}
