/** The package version (test/dropin-package.test.ts checks it matches package.json). */
export const VERSION = '0.1.0';
