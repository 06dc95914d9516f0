// The `cookie` library (jshttp), which ships only as an ES module: Node 20.19+ requires it as any other, TypeScript's
// Node16 module mode does not let an import say so, hence the require typed as the module.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const cookie = require('cookie') as typeof import('cookie', { with: { 'resolution-mode': 'import' } });

export const { parseCookie, stringifySetCookie } = cookie;
