/**
 * The LoadTest rules the CRD's schema cannot hold, as a ValidatingAdmissionPolicy (crds/loadtest-validation.yaml).
 *
 * An item of `spec.thresholds` is a string or an object (k6's `{threshold, abortOnFail, delayAbortEval}`): the CRD
 * leaves such items untyped (`x-kubernetes-preserve-unknown-fields`), and the API server refuses any
 * `x-kubernetes-validations` rule on or above an untyped node. An admission policy's CEL is dynamically typed, so it
 * can check every item, and the spec-level rule over them (`{name:...}` must name a request of the mix).
 *
 * The expressions are generated here from THRESHOLD_RULES and the messages zod uses; the YAML file is kept equal to
 * loadTestValidationPolicy() by test/loadtest/threshold-rules.test.ts. A request gets one message per invalid item,
 * `spec.thresholds[3]: ...`, all in one denial (the API server reports only a policy's first failed validation).
 */
import { SPEC_MESSAGES } from './spec.js';
import { celThresholdEntryProblem, celThresholdText } from './thresholds.js';

export const LOADTEST_POLICY_NAME = 'loadtests.example.org';

export interface PolicyVariable {
  name: string;
  expression: string;
}

export interface PolicyValidation {
  expression: string;
  message: string;
  messageExpression?: string;
  reason: 'Invalid';
}

export interface PolicyMatchCondition {
  name: string;
  expression: string;
}

/** The parts of the policy's spec that are generated: its match conditions, variables and validations. */
export interface LoadTestValidationPolicy {
  matchConditions: PolicyMatchCondition[];
  variables: PolicyVariable[];
  validations: PolicyValidation[];
}

export function loadTestValidationPolicy(): LoadTestValidationPolicy {
  return {
    matchConditions: [
      {
        // Ratcheting, as the API server does for a CRD's own rules: a write that leaves the spec as it is (a
        // finalizer, a label) passes even when a newer policy would refuse the spec stored before it.
        name: 'spec-written',
        expression: "request.operation == 'CREATE' || oldObject == null || object.spec != oldObject.spec",
      },
    ],
    variables: [
      { name: 'thresholds', expression: 'has(object.spec.thresholds) ? object.spec.thresholds : []' },
      { name: 'texts', expression: `variables.thresholds.map(t, ${celThresholdText('t')})` },
      {
        name: 'problems',
        expression: `variables.thresholds.transformList(i, t, ${celThresholdEntryProblem('t', 'variables.texts[i]')})`,
      },
    ],
    validations: [
      {
        expression: "variables.problems.all(p, p == '')",
        message: 'spec.thresholds: an item is not a valid threshold',
        messageExpression:
          "variables.problems.transformList(i, p, p != '', 'spec.thresholds[' + string(i) + ']: ' + p).join('; ')",
        reason: 'Invalid',
      },
      {
        expression:
          "variables.texts.all(t, !t.contains('{name:') || (has(object.spec.test.requests) && " +
          "object.spec.test.requests.exists(r, t.contains('{name:' + r.name + '}'))))",
        message: `spec.thresholds: ${SPEC_MESSAGES.unknownRequest}`,
        reason: 'Invalid',
      },
    ],
  };
}
