import { fileURLToPath } from 'node:url';
import { ruleLimitDefaults } from '../../common/rule-abi.ts';
import { seededRandom } from '../../common/random.ts';
import { RuleHost } from '../../edge/rules/rule-host.ts';
import type { RuleBinding, RulePlan } from '../../edge/rules/rule-plan.ts';
import { buildRule } from '../../rules/build.ts';
import { compileCached } from '../../rules/compile-cache.ts';
const inputsPerRule = 10;
const rules = Number(process.argv[2] ?? 200);
const ticks = Number(process.argv[3] ?? 200000);
const noopPath = '/tmp/mw-noop/noop.ts';
const noopText = ['import { input, output } from "millwright";', ...Array.from({ length: 10 }, (_, index) => `input("dev/p${index}");`), 'output("dev/stop", 0);', 'export function tick(): void {}', ''].join('\n');
const rule = process.env['NOOP'] ? await buildRule(noopPath, { compile: compileCached, sources: { [noopPath]: noopText } }) : await buildRule(fileURLToPath(new URL('../../rules/sdk/testing/bench-rule.ts', import.meta.url)), { compile: compileCached });
const output = rules * inputsPerRule, points = output + rules, alarmStates = points + rules * 2;
import { createHash } from 'node:crypto';
const distinct = process.env['DISTINCT'] !== undefined;
const binaryen = (await import('binaryen')).default as any;
const variant = (index: number) => {
  if (!distinct) return { wasm: rule.wasm, manifest: rule.manifest };
  const m = binaryen.readBinary(rule.wasm); m.addFunction(`copy${index}`, binaryen.none, binaryen.i32, [], m.i32.const(index));
  const wasm = m.emitBinary(); m.dispose();
  return { wasm, manifest: { ...rule.manifest, module: { ...rule.manifest.module, sha256: createHash('sha256').update(wasm).digest('hex'), bytes: wasm.length } } };
};
const bindings: RuleBinding[] = Array.from({ length: rules }, (_, index) => ({
  name: `m-${index}`, ...variant(index), params: {},
  inputTags: Array.from({ length: inputsPerRule }, (_, input) => index * inputsPerRule + input),
  outputTags: [output + index], pointTags: [points + index * 2, points + index * 2 + 1], alarmIndices: [index], alarmStateTags: [alarmStates + index],
}));
const plan: RulePlan = { tickMs: 10, startFuel: ruleLimitDefaults.startFuel, memoryPagesMax: 16, quarantine: { faultsMax: 3, windowTicks: 6000 }, rules: bindings };
const host = new RuleHost(plan);
const tags = rules * 14;
const inputTags = rules * inputsPerRule;
let n = 0;
const step = { tick: 0, nowMs: 0, values: new Float64Array(tags), qualities: new Uint8Array(tags), sourceTsMs: new Float64Array(tags), changed: new Uint8Array(tags), changedTags: new Int32Array(tags), changedCount: 0, point: () => void n++, write: () => void n++, alarm: () => void n++ };
const random = seededRandom(11);
const perTick = inputTags / 10;
const cycle = 3000;
const index = new Int32Array(cycle * perTick); const value = new Float64Array(cycle * perTick);
const level = Float64Array.from({ length: inputTags }, (_, tag) => (tag % 10 === 0 ? 80 : tag % 10 === 2 ? 1 : 50));
for (let at = 0; at < index.length; at++) { const tag = random.int(0, inputTags - 1); const kind = tag % 10; level[tag] = kind === 2 ? (random.next() < 0.05 ? 1 - level[tag]! : level[tag]!) : kind === 1 ? random.gaussian() * 3 : level[tag]! + random.gaussian() * (kind === 0 ? 1.5 : 0.4); index[at] = tag; value[at] = level[tag]!; }
let total = 0n;
for (let tick = 0; tick < ticks; tick++) {
  const from = (tick % cycle) * perTick;
  step.changedCount = 0;
  for (let at = from; at < from + perTick; at++) { const tag = index[at]!; step.values[tag] = value[at]!; if (step.changed[tag] === 0) step.changedTags[step.changedCount++] = tag; step.changed[tag] = 1; }
  step.tick = tick;
  const before = process.hrtime.bigint();
  host.step(step as never);
  if (tick >= ticks / 2) total += process.hrtime.bigint() - before;
  for (let at = from; at < from + perTick; at++) step.changed[index[at]!] = 0;
}
const g = globalThis as any; console.log(`copy ${Number(g.copyNs)/1000/ticks} run ${Number(g.runNs)/1000/ticks} walk ${Number(g.walkNs)/1000/ticks}`);
console.log(`${rules} rules: ${(Number(total) / 1000 / (ticks / 2)).toFixed(2)} µs/tick, events ${n}`);
process.exit(0);
