// Groups the latest value per tag into lines and machines for the dashboard. A tag
// line/machine/name... is (line, machine, name); a tag with fewer than three segments goes under
// machine '-' (and line '-' when it has a single segment).
import type { LivePoint } from './ingest.ts';

export interface MachineTag extends LivePoint {
  readonly name: string;
}

export interface MachineView {
  readonly line: string;
  readonly machine: string;
  readonly tags: MachineTag[];
}

export function tagAddress(tag: string): { line: string; machine: string; name: string } {
  const segments = tag.split('/');
  if (segments.length >= 3) return { line: segments[0] as string, machine: segments[1] as string, name: segments.slice(2).join('/') };
  if (segments.length === 2) return { line: segments[0] as string, machine: '-', name: segments[1] as string };
  return { line: '-', machine: '-', name: tag };
}

export function groupMachines(points: readonly LivePoint[]): MachineView[] {
  const machines = new Map<string, MachineView>();
  for (const point of points) {
    const { line, machine, name } = tagAddress(point.tag);
    const key = `${line}\u0000${machine}`;
    let view = machines.get(key);
    if (view === undefined) {
      view = { line, machine, tags: [] };
      machines.set(key, view);
    }
    view.tags.push({ ...point, name });
  }
  const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  const sorted = [...machines.values()].sort((a, b) => byText(a.line, b.line) || byText(a.machine, b.machine));
  for (const view of sorted) view.tags.sort((a, b) => byText(a.tag, b.tag));
  return sorted;
}
