import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
	INodePropertyOptions,
	INodeType,
	INodeTypeBaseDescription,
	INodeTypeDescription,
	IVersionedNodeType,
} from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { CREDENTIAL_TYPE } from './transport';

/** One operation: its entry in the Operation list, its parameters, and what it does. */
export interface OperationModule {
	option: Required<Pick<INodePropertyOptions, 'name' | 'action' | 'description'>>;
	description: INodeProperties[];
	execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]>;
}

export interface VersionSpec {
	/** Name of a new node on the canvas. */
	defaultName: string;
	/** Operations in the order of the Operation list. */
	operations: Record<string, OperationModule>;
	/** Never change it within a version: saved workflows leave a default value out. */
	defaultOperation: string;
	/** Parameters several operations share, shown right below the Operation. */
	properties?: INodeProperties[];
	/** An expression for operations with several outputs; one main output otherwise. */
	outputs?: INodeTypeDescription['outputs'];
}

export interface NodeBase {
	displayName: string;
	/** Also the README anchor of the node's section (Docs link). */
	name: string;
	description: string;
	docsAnchor: string;
}

export const DOCS_URL = 'https://github.com/batch-guardian/n8n-nodes-batch-guardian';

/**
 * Arguments for `VersionedNodeType`: the base description every version shares and one
 * INodeType per version. No subtitle on purpose: n8n's editor then shows the chosen
 * operation's display name (e.g. "Submit Batch"), not its value.
 */
export function versionedNode(
	base: NodeBase,
	versions: Record<number, VersionSpec>,
): [IVersionedNodeType['nodeVersions'], INodeTypeBaseDescription] {
	const numbers = Object.keys(versions).map(Number);
	const file = base.name;
	const baseDescription: INodeTypeBaseDescription = {
		displayName: base.displayName,
		name: base.name,
		icon: { light: `file:${file}.svg`, dark: `file:${file}.dark.svg` },
		group: ['transform'],
		description: base.description,
		documentationUrl: `${DOCS_URL}#${base.docsAnchor}`,
		defaultVersion: Math.max(...numbers),
	};
	const nodeVersions: IVersionedNodeType['nodeVersions'] = {};
	for (const version of numbers) {
		nodeVersions[version] = nodeVersion(baseDescription, version, versions[version]);
	}
	return [nodeVersions, baseDescription];
}

function nodeVersion(
	base: INodeTypeBaseDescription,
	version: number,
	spec: VersionSpec,
): INodeType {
	const modules = Object.entries(spec.operations);
	const { defaultOperation } = spec;
	const operation: INodeProperties = {
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		default: defaultOperation,
		options: modules.map(([value, module]) => ({ ...module.option, value })),
	};
	return {
		description: {
			...base,
			version,
			defaults: { name: spec.defaultName },
			inputs: [NodeConnectionTypes.Main],
			outputs: spec.outputs ?? [NodeConnectionTypes.Main],
			usableAsTool: true,
			credentials: [{ name: CREDENTIAL_TYPE, required: true }],
			properties: [
				operation,
				...(spec.properties ?? []),
				...modules.flatMap(([, module]) => module.description),
			],
		},
		async execute(this: IExecuteFunctions) {
			return await route.call(this, spec.operations);
		},
	};
}

/** The router: runs the chosen operation (read at item 0: it cannot be an expression). */
export async function route(
	this: IExecuteFunctions,
	operations: Record<string, OperationModule>,
): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as string;
	const module = operations[operation];
	if (!module) {
		throw new NodeOperationError(this.getNode(), `Unknown operation '${operation}'`, {
			description: `Choose one of: ${Object.keys(operations).join(', ')}`,
		});
	}
	return await module.execute.call(this);
}

/** displayOptions showing a parameter for the given operations only. */
export const showFor = (...operations: string[]) => ({ show: { operation: operations } });

/** The "Options" collection of one operation: optional settings, added one by one in the editor. */
export const optionsCollection = (
	operation: string,
	options: INodeProperties[],
): INodeProperties => ({
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add Option',
	default: {},
	displayOptions: showFor(operation),
	options,
});
