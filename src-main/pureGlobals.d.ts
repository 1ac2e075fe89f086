// Globals the pure layers (core/, common/) may use although no ES lib declares them: the WHATWG
// URL class exists in every runtime they run in (Node, Electron, the browser). Only
// tsconfig.core.json reads this file; the other projects get URL from DOM or @types/node.

/** The parts of the WHATWG URL class the pure layers read (parsing and origin checks). */
declare class URL {
  constructor(url: string, base?: string);
  readonly href: string;
  readonly origin: string;
  readonly protocol: string;
  readonly username: string;
  readonly password: string;
  readonly host: string;
  readonly hostname: string;
  readonly port: string;
  readonly pathname: string;
  readonly search: string;
  readonly hash: string;
}
