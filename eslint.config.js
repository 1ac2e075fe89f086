// Lint, and the import boundaries that keep the layers honest (docs/architecture.md).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...new Set(builtinModules.map((m) => m.replace(/^node:/, '')))];
const noNode = {
  paths: nodeBuiltins.map((name) => ({ name, message: 'Pure layers never import Node built-ins: go through a port.' })),
  patterns: [{ group: ['node:*'], message: 'Pure layers never import node:* modules: go through a port.' }],
};
const noElectron = { name: 'electron', message: "Only src-main/electron and src-main/preload import 'electron'." };
// Nothing outside test/ depends on test code: the stand-in the demo runs lives in src-main/standin.
// The benchmarks may use the rigs the tests use (test/helpers), and nothing else under test/.
const noTest = {
  regex: '^(\\.{1,2}/)+test(/|$)',
  message: 'Only tests import from test/; product code, tools and configs stand on their own.',
};
const noTestButHelpers = {
  regex: '^(\\.{1,2}/)+test/(?!helpers/)',
  message: 'Benchmarks may use the test rigs in test/helpers, nothing else under test/.',
};
// Reading a file from test/ is the same dependency as importing it (the stand-in once read its seed data that way).
const noTestFile = {
  selector: "NewExpression[callee.name='URL'] > Literal[value=/(^|\\/)test\\//]",
  message: 'Only tests read files under test/.',
};
const outsideTest = ['src-main/**', 'src-renderer/**', 'scripts/**', 'bench/**', '*.config.*'];

export default tseslint.config(
  {
    ignores: [
      'out/**',
      'dist/**',
      'node_modules/**',
      '.demo/**',
      'test-results/**',
      'playwright-report/**',
      'bench-results/**',
      '.tmp/**',
      'reports/**',
      '.stryker-tmp*/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        window: 'readonly',
        document: 'readonly',
        fetch: 'readonly',
        AbortSignal: 'readonly',
        AbortController: 'readonly',
        Buffer: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        WebSocket: 'readonly',
        performance: 'readonly',
        structuredClone: 'readonly',
        queueMicrotask: 'readonly',
        URLSearchParams: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-imports': ['error', { paths: [noElectron] }],
    },
  },
  {
    files: outsideTest,
    rules: {
      'no-restricted-imports': ['error', { paths: [noElectron], patterns: [noTest] }],
      'no-restricted-syntax': ['error', noTestFile],
    },
  },
  {
    // A function longer than a screen hides what it does: split it into named parts, or say why
    // not (`// eslint-disable-next-line max-lines-per-function -- <reason>`). Tests are exempt:
    // a describe block is a list, not logic.
    files: outsideTest,
    rules: { 'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }] },
  },
  {
    files: ['bench/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [noElectron], patterns: [noTestButHelpers] }] },
  },
  {
    files: ['src-main/core/**', 'src-main/common/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [noElectron, ...noNode.paths], patterns: [...noNode.patterns, noTest] }] },
  },
  {
    files: ['src-renderer/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [noElectron, ...noNode.paths], patterns: [...noNode.patterns, noTest] }] },
  },
  {
    files: ['src-main/electron/**', 'src-main/preload/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [noTest] }] },
  },
);
