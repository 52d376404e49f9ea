/**
 * The part of the WebAssembly JS API the fast path uses (Node has it built in; the project's
 * `lib` setting, without DOM, does not declare it).
 */
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number });
    readonly buffer: ArrayBuffer;
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  class Global {
    readonly value: unknown;
  }
}
