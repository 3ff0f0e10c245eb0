#!/usr/bin/env node
// The `millwright` entry. TypeScript runs through tsx's loader, so a fresh `npm install` leaves
// everything runnable without a build step (docs/adr/0001). Worker threads started by the
// gateway register the same loader themselves.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
const code = await main(process.argv.slice(2));
// Every command has closed what it opened by the time main resolves; exiting here makes sure a
// stray handle in a dependency cannot keep a stopped tier alive (stdout and stderr are
// synchronous for files and pipes on Linux, so nothing printed is lost).
process.exit(code);
