import { parentPort } from 'node:worker_threads';
import { createCachedNumberParser } from './phone-number-cache.js';

/** Worker side of the phone number pool: validates the numbers it is sent, in order. */
parentPort?.on('message', (message: { id: number; inputs: string[] }) => {
  parentPort?.postMessage({ id: message.id, results: message.inputs.map(createCachedNumberParser()) });
});
