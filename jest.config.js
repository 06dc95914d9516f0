// One jest for the whole workspace: unit tests sit beside the code, anything that crosses a
// service boundary (real Postgres, RabbitMQ, processes) lives in test/.
const swc = [
  '@swc/jest',
  {
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    },
    module: { type: 'commonjs' },
  },
];
const shared = {
  testEnvironment: 'node',
  // cookie (under fastify's inject and @fastify/cookie) and content-disposition (under @fastify/static) ship only as ES
  // modules, which jest on Node 20 cannot require (Node itself can): compile them too.
  transform: { '^.+\\.ts$': swc, '/node_modules/(cookie|content-disposition)/.+\\.js$': swc },
  transformIgnorePatterns: ['/node_modules/(?!(cookie|content-disposition)/)'],
  moduleNameMapper: {
    '^@ferry/common/(.*)$': '<rootDir>/libs/common/src/$1',
    '^@ferry/api$': '<rootDir>/services/api/src/index.ts',
    '^@ferry/scheduler$': '<rootDir>/services/scheduler/src/index.ts',
    '^@ferry/scheduler/(.*)$': '<rootDir>/services/scheduler/src/$1',
    '^@ferry/compute$': '<rootDir>/services/compute/src/index.ts',
    '^@ferry/compute/(.*)$': '<rootDir>/services/compute/src/$1',
    '^@ferry/cli$': '<rootDir>/tools/ferry/src/index.ts',
  },
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/'],
};
module.exports = {
  testTimeout: 30000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/{libs,services,tools}/*/src/**/*.test.ts'] },
    { ...shared, displayName: 'integration', testMatch: ['<rootDir>/test/**/*.test.ts'] },
  ],
};
