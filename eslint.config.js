// Lint rules, chiefly the component boundaries of DESIGN.md: a component imports common/ and
// nothing from another component; ui/ imports no server code at all. bin/ is the only place that
// wires components together (it dispatches subcommands), and bench/ measures them.
import tseslint from 'typescript-eslint';

const components = ['edge', 'rules', 'hub', 'central', 'hil'];

// Relative import paths are matched as written, so the patterns are built per folder depth: from
// edge/scan/x.ts, '../rules/…' is edge's own rules/ folder and '../../rules/…' the rules component.
const depthsMax = 6;

function boundaryRules(component) {
  const others = components.filter((name) => name !== component);
  return Array.from({ length: depthsMax + 1 }, (_, depth) => {
    const up = '../'.repeat(depth + 1);
    return {
      files: [`${component}/${'*/'.repeat(depth)}*.ts`],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: others
              .map((other) => ({
                group: [`${up}${other}/**`, `${up}${other}`],
                message: `${component}/ may import common/ but not ${other}/: components meet only through the wire contracts in common/.`,
              }))
              .concat([{ group: [`${up}ui/**`, `${up}ui`], message: `${component}/ may not import ui/ code; ui/ talks to servers over HTTP.` }]),
          },
        ],
      },
    };
  });
}

export default tseslint.config(
  { ignores: ['node_modules/**', 'ui/dist/**', 'rules/sdk/**', 'rules/examples/**', '**/*.d.ts'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']", message: 'Use a seeded RandomSource from common/random.ts.' },
      ],
    },
  },
  {
    files: ['common/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/edge/*', '**/rules/*', '**/hub/*', '**/central/*', '**/hil/*', '**/ui/*', '**/bin/*'], message: 'common/ is the base: it imports no component.' }] },
      ],
    },
  },
  ...components.flatMap(boundaryRules),
  {
    files: ['ui/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/common/*', '**/edge/*', '**/rules/*', '**/hub/*', '**/central/*', '**/hil/*', '**/bin/*', 'node:*'],
              message: 'ui/ talks to hub/ and central/ over HTTP alone: it imports no server code.',
            },
          ],
        },
      ],
    },
  },
  {
    // The dashboard's own tests and fakes run in Node: they may use node: modules, still no server code.
    files: ['ui/**/*.test.ts', 'ui/site/testing/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/common/*', '**/edge/*', '**/rules/*', '**/hub/*', '**/central/*', '**/hil/*', '**/bin/*'], message: 'ui/ tests use no server code either.' }] },
      ],
    },
  },
  {
    files: ['**/*.test.ts', 'bench/**/*.ts', 'scripts/**'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
