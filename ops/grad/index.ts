// Loads the gradient and batching rules of every primitive and gives autograd the few ops it needs.
import { registerGradOps } from '../../core/autograd.js';
import { ones, zeros } from '../creation.js';
import { add, astype } from '../elementwise.js';
import './elementwise.js';
import './views.js';
import './reduce.js';
import './shape.js';
import './gather_scatter.js';
import './linalg.js';
import './linalg_decomp.js';
import './sort.js';
import './scan.js';

registerGradOps({ add, astype, zeros: (shape, dtype) => zeros(shape, dtype), ones: (shape, dtype) => ones(shape, dtype) });
