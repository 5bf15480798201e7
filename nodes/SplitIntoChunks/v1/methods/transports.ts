import type { IExecuteFunctions, ILoadOptionsFunctions, INodePropertyOptions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { serviceRequest } from '../../../shared/transport';

interface TransportInfo {
	name: string;
	host: string;
	port: number;
	secure: boolean;
	maxConnections: number;
}

/** The SMTP transports the service is configured with, for the Direct SMTP delivery's list. */
export async function listTransports(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
	// serviceRequest uses only the credential, the HTTP helper and the node, which loading an
	// option list has as well.
	const { transports } = await serviceRequest<{ transports: TransportInfo[] }>(
		this as unknown as IExecuteFunctions,
		'GET',
		'/v1/transports',
		{ itemIndex: 0 },
	);
	if (transports.length === 0) {
		throw new NodeOperationError(
			this.getNode(),
			'The Batch Guardian service has no SMTP transport',
			{
				description:
					'Start the service with one variable per relay, e.g. SMTP_TRANSPORT_RELAY=smtp://user:password@relay.example.com:587?pool=10, then open this list again.',
			},
		);
	}
	return transports.map((transport) => ({
		name: transport.name,
		value: transport.name,
		description: `${transport.host}:${transport.port}${transport.secure ? ' (TLS)' : ''}, ${transport.maxConnections} connections`,
	}));
}
