/**
 * Registers Trainyard's search attributes on a namespace (idempotent). The embedded dev server gets
 * them with `--search-attribute` at start; other clusters (and the test server) through this.
 */
import type { Connection } from '@temporalio/client';
// @temporalio/proto is CommonJS whose exports Node's ESM loader cannot name: take the default export.
import proto from '@temporalio/proto';
import { ALL_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';

const GRPC_UNIMPLEMENTED = 12;

type OperatorConnection = Pick<Connection, 'operatorService'>;

/** Registered custom attribute names; empty where the server cannot list them (the Java test server). */
async function registered(connection: OperatorConnection, namespace: string): Promise<string[]> {
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    return Object.keys(existing.customAttributes ?? {});
  } catch (err) {
    if ((err as { code?: number }).code === GRPC_UNIMPLEMENTED) return [];
    throw err;
  }
}

export async function registerSearchAttributes(connection: OperatorConnection, namespace: string): Promise<string[]> {
  const known = new Set(await registered(connection, namespace));
  const missing = ALL_SEARCH_ATTRIBUTES.filter((key) => !known.has(key.name));
  if (missing.length === 0) return [];
  const keyword = proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((key) => [key.name, keyword])),
  });
  return missing.map((key) => key.name);
}
