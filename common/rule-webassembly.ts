// The few WebAssembly JS API types the rule runtime uses. The project's TypeScript libs (ES2024 +
// node) do not declare the WebAssembly namespace, and pulling in the DOM lib for it would let
// browser globals leak into server code; this narrow declaration is all the runtime needs.

export interface WasmModule {
  readonly [Symbol.toStringTag]: string;
}

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  /** Grows by `pages` of 64 KiB (detaching the old buffer); returns the old size in pages. */
  grow(pages: number): number;
}

export interface WasmGlobal {
  value: unknown;
}

export interface WasmTable {
  set(index: number, value: unknown): void;
}

export interface WasmInstance {
  readonly exports: Readonly<Record<string, unknown>>;
}

interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => WasmModule;
  readonly Instance: new (module: WasmModule, imports: Readonly<Record<string, Readonly<Record<string, unknown>>>>) => WasmInstance;
  readonly Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
  readonly RuntimeError: new (message?: string) => Error;
  validate(bytes: Uint8Array): boolean;
}

export const webAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
