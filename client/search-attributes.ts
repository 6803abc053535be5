/**
 * Checks that the rollout's search attributes are registered before a rollout starts: the
 * server refuses a start that sets an unknown one, and the workflow keeps them current for
 * `rollout list` and the Web UI's filters.
 */
import type { Connection } from '@temporalio/client';
import { isGrpcServiceError } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_TYPES } from '../workflows/definitions.js';
import { CliError, namespaceNotFound } from './errors.js';

/** `temporal.api.enums.v1.IndexedValueType` numbers, by the names the `temporal` CLI uses. */
const INDEXED_VALUE_TYPES: Readonly<Record<number, string>> = {
  1: 'Text',
  2: 'Keyword',
  3: 'Int',
  4: 'Double',
  5: 'Bool',
  6: 'Datetime',
  7: 'KeywordList',
};

/** gRPC codes meaning "you may not ask" (e.g. an API key without operator rights): the check is skipped. */
const NOT_FOUND = 5;
const NOT_PERMITTED = new Set([7 /* PERMISSION_DENIED */, 12 /* UNIMPLEMENTED */, 16 /* UNAUTHENTICATED */]);

/**
 * Throws `CliError` naming every missing (or wrongly typed) attribute and the command that
 * registers it. Skipped when the server does not let this client list search attributes.
 */
export async function checkSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  let registered: Record<string, number>;
  try {
    const response = await connection.operatorService.listSearchAttributes({ namespace });
    registered = response.customAttributes ?? {};
  } catch (err) {
    if (isGrpcServiceError(err) && NOT_PERMITTED.has(err.code)) return;
    if (isGrpcServiceError(err) && (err.code as number) === NOT_FOUND) throw namespaceNotFound(namespace);
    throw err;
  }
  const problems: string[] = [];
  const commands: string[] = [];
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_TYPES)) {
    const actual = registered[name];
    if (actual !== undefined && INDEXED_VALUE_TYPES[actual] === type) continue;
    problems.push(
      actual === undefined ? name : `${name} (registered as ${INDEXED_VALUE_TYPES[actual]}, needs ${type})`,
    );
    commands.push(
      `temporal operator search-attribute create --namespace ${namespace} --name ${name} --type ${type}`,
    );
  }
  if (problems.length === 0) return;
  throw new CliError(
    `search attributes not registered in namespace "${namespace}": ${problems.join(', ')} — ` +
      `register them with \`${commands.join(' && ')}\` (\`npm run server\` registers them on a local dev server)`,
  );
}
