/**
 * Test processes log only errors from the Temporal runtime: every failed push attempt is a
 * WARN line otherwise, and the fault tests fail thousands on purpose.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';

try {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
} catch {
  // Already installed in this process by an earlier test file.
}
