// The n8n community-node rules, applied to what we publish (nodes/, credentials/, package.json).
import tseslint from 'typescript-eslint';
import communityNodes from '@n8n/eslint-plugin-community-nodes';

export default [
	{ ignores: ['dist/**', 'service/**', 'test/**', 'scripts/**', 'node_modules/**'] },
	{
		files: ['nodes/**/*.ts', 'credentials/**/*.ts'],
		languageOptions: { parser: tseslint.parser, parserOptions: { project: './tsconfig.json' } },
		plugins: { '@typescript-eslint': tseslint.plugin },
	},
	communityNodes.configs.recommended,
];
