// Public API of the loadtest-operator package.
export * from './loadtest/spec.js';
export * from './runner/contract.js';
export * from './client/index.js';
export { startLocalEnvironment, type LocalEnvironment, type LocalEnvironmentOptions } from './local/environment.js';
export {
  AesGcmPayloadCodec,
  dataConverterFromEnv,
  payloadCodecFromEnv,
  PayloadCodecError,
} from './temporal/payload-codec.js';
