import type { KernelDef } from '../kernel.js';
import { gruKernel } from './gru.js';
import { lstmKernel } from './lstm.js';
import { rnnKernel } from './rnn.js';

/** Recurrent operators: LSTM, GRU and the simple RNN. */
export const rnnKernels: KernelDef[] = [lstmKernel, gruKernel, rnnKernel];
