// Worker bootstrap: the scan worker is TypeScript, so it registers tsx's loader first (ADR 0001).
import { register } from 'tsx/esm/api';

register();
await import('./scan-worker.ts');
