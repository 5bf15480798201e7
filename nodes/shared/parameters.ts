import type { IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

/** Mirrors the service's id rule so a typo is caught before a request is made. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function requireId(
	this: IExecuteFunctions,
	parameter: string,
	label: string,
	itemIndex: number,
): string {
	const raw = this.getNodeParameter(parameter, itemIndex, '') as unknown;
	const value = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : '';
	if (value === '') {
		throw new NodeOperationError(this.getNode(), `'${label}' is empty`, {
			itemIndex,
			description: `Set '${label}', for example with an expression such as {{ $json.batchId }}.`,
		});
	}
	if (!ID_PATTERN.test(value)) {
		throw new NodeOperationError(
			this.getNode(),
			`'${label}' is not a valid id: '${value.slice(0, 60)}'`,
			{
				itemIndex,
				description:
					'Ids are 1-128 characters: letters, digits, dot, underscore, colon or dash, starting with a letter or digit.',
			},
		);
	}
	return value;
}
