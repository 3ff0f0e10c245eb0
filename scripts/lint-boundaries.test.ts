// Proves the component boundaries of docs/adr/0004 are enforced by the lint, not only written down.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: new URL('..', import.meta.url).pathname });

async function restrictedImports(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((message) => message.ruleId === 'no-restricted-imports').map((message) => message.message);
}

describe('component import boundaries', () => {
  it('fails when a component reaches into another component', async () => {
    const messages = await restrictedImports('edge/example.ts', "import { startHub } from '../hub/hub.ts';\nexport const x = startHub;\n");
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain('edge/ may import common/ but not hub/');
  });

  it('fails for every pair of components', async () => {
    const components = ['edge', 'rules', 'hub', 'central', 'hil'];
    for (const from of components) {
      for (const to of components.filter((name) => name !== from)) {
        const messages = await restrictedImports(`${from}/deep/example.ts`, `import { x } from '../../${to}/thing.ts';\nexport const y = x;\n`);
        expect(messages, `${from} -> ${to}`).toHaveLength(1);
      }
    }
  });

  it("tells a component's own folder from another component of the same name", async () => {
    expect(await restrictedImports('edge/scan/example.ts', "import { x } from '../rules/thing.ts';\nexport const y = x;\n")).toEqual([]);
    expect(await restrictedImports('edge/example.ts', "import { x } from './rules/thing.ts';\nexport const y = x;\n")).toEqual([]);
    expect(await restrictedImports('edge/scan/example.ts', "import { x } from '../../rules/thing.ts';\nexport const y = x;\n")).toHaveLength(1);
    expect(await restrictedImports('edge/example.ts', "import { x } from '../rules/thing.ts';\nexport const y = x;\n")).toHaveLength(1);
  });

  it('lets a component import common/', async () => {
    expect(await restrictedImports('hub/example.ts', "import { assert } from '../common/assert.ts';\nexport const x = assert;\n")).toEqual([]);
  });

  it('keeps common/ free of component imports', async () => {
    expect(await restrictedImports('common/example.ts', "import { x } from '../edge/thing.ts';\nexport const y = x;\n")).toHaveLength(1);
  });

  it('keeps server code out of ui/', async () => {
    expect(await restrictedImports('ui/site/lib/example.ts', "import { topics } from '../../../common/wire.ts';\nexport const x = topics;\n")).toHaveLength(1);
  });

  it('lets bin/ wire components together', async () => {
    expect(await restrictedImports('bin/example.ts', "import { run } from '../edge/cli.ts';\nexport const x = run;\n")).toEqual([]);
  });
});
