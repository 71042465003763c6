/**
 * A worker thread of the intra-op pool (Node): instantiates the modules the calling thread posts on the shared
 * memory and works on the batches it publishes (threads.ts workerLoop). Started by pool-node.ts.
 */
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { workerLoop, type PoolModuleMessage, type PoolWorkerData } from './threads.js';

const { port, ...data } = workerData as PoolWorkerData & { port: MessagePort };
workerLoop(data, () => receiveMessageOnPort(port)?.message as PoolModuleMessage | undefined);
port.close();
