import pkg from '../package.json';

/** The tool's version, as verdicts cite it. */
export const TOOL_VERSION: string = pkg.version;
