// Loaded into the app under test with `node --require`: on SIGUSR2 it terminates the worker thread
// that holds the SQLite connection, as if that thread had died, so a test can see what the app does.
const { Worker } = require('node:worker_threads');

const sqliteThreads = new Set();
const postMessage = Worker.prototype.postMessage;
Worker.prototype.postMessage = function (message, ...rest) {
  // Batches of statements are arrays; only the SQLite connection's thread is sent those.
  if (Array.isArray(message)) sqliteThreads.add(this);
  return postMessage.call(this, message, ...rest);
};
process.on('SIGUSR2', () => {
  for (const thread of sqliteThreads) void thread.terminate();
});
