import type { Server } from 'node:http';
import request from 'supertest';
import { createContractChecker, type ContractChecker } from './contract';

/**
 * Jest setup (setupFilesAfterEnv): every response a test receives through supertest from a FaceMatch app is checked against
 * that app's /openapi.json document (createContractChecker), so a response that drifts from the contract fails the test that
 * received it. Apps without a document (not built by buildApp) are not checked.
 */
type Assert = (this: SupertestTest, err: unknown, res: request.Response | undefined, fn?: (err: unknown, res: unknown) => void) => void;
interface SupertestTest {
  app: Server | string;
  method: string;
  url: string;
}

const checkers = new WeakMap<object, ContractChecker>();

/** The path as sent: `new URL` would resolve `..` segments that the server itself never resolved. */
const rawPath = (url: string) => url.replace(/^[a-z]+:\/\/[^/]+/i, '').split(/[?#]/)[0]!;

function checkerFor(test: SupertestTest): ContractChecker | null {
  if (typeof test.app === 'string') return null;
  const app = test.app.listeners('request')[0] as { locals?: { openapiDocument?: () => Parameters<typeof createContractChecker>[0] } } | undefined;
  const document = app?.locals?.openapiDocument;
  if (!app || !document) return null;
  let checker = checkers.get(app);
  if (!checker) checkers.set(app, (checker = createContractChecker(document())));
  return checker;
}

const proto = (request as unknown as { Test: { prototype: { assert: Assert } } }).Test.prototype;
const original = proto.assert;
proto.assert = function (this: SupertestTest, err, res, fn) {
  const checker = res ? checkerFor(this) : null;
  const problem =
    checker && res
      ? checker({ method: this.method, path: rawPath(this.url), status: res.status, contentType: res.headers['content-type'], body: res.body, text: res.text })
      : null;
  original.call(this, err, res, (e, r) => fn?.call(this, e ?? (problem ? new Error(`OpenAPI contract: ${problem}`) : null), r));
};
