#!/usr/bin/env python3
"""Dev tool (not a test): checks reference.ts against numpy/scipy.

    npx tsx tests/conformance/tools/numpy_cases.ts | python3 tests/conformance/tools/check_numpy.py

Reads the cases numpy_cases.ts prints (inputs, dtype, the reference's outputs) and recomputes
them with numpy (scipy for erf, erfinv, sigmoid). Prints every disagreement and exits 1 if any.
kiln computes float ops on integer inputs in float32 (MLX) and rsqrt/sigmoid exist only there;
the checker casts accordingly. Float results are compared with a few-ulp tolerance.
"""
import json
import math
import sys
import warnings

import numpy as np
from scipy import special

warnings.simplefilter('ignore')
NP = {'bool': np.bool_, 'uint8': np.uint8, 'uint16': np.uint16, 'uint32': np.uint32, 'uint64': np.uint64,
      'int8': np.int8, 'int16': np.int16, 'int32': np.int32, 'int64': np.int64, 'float16': np.float16,
      'float32': np.float32, 'float64': np.float64}
UNARY = {
    'negative': np.negative, 'abs': np.abs, 'sign': np.sign, 'square': np.square, 'exp': np.exp, 'expm1': np.expm1,
    'log': np.log, 'log1p': np.log1p, 'log2': np.log2, 'log10': np.log10, 'sqrt': np.sqrt,
    'rsqrt': lambda x: np.reciprocal(np.sqrt(x)), 'reciprocal': np.reciprocal, 'sin': np.sin, 'cos': np.cos,
    'tan': np.tan, 'arcsin': np.arcsin, 'arccos': np.arccos, 'arctan': np.arctan, 'sinh': np.sinh, 'cosh': np.cosh,
    'tanh': np.tanh, 'arcsinh': np.arcsinh, 'arccosh': np.arccosh, 'arctanh': np.arctanh, 'sigmoid': special.expit,
    'erf': special.erf, 'erfinv': special.erfinv, 'floor': np.floor, 'ceil': np.ceil, 'trunc': np.trunc,
    'round': np.round, 'isnan': np.isnan, 'isinf': np.isinf, 'isfinite': np.isfinite, 'logicalNot': np.logical_not,
    'bitwiseInvert': np.invert}
BINARY = {
    'add': np.add, 'subtract': np.subtract, 'multiply': np.multiply, 'divide': np.divide, 'power': np.power,
    'maximum': np.maximum, 'minimum': np.minimum, 'remainder': np.remainder, 'floorDivide': np.floor_divide,
    'equal': np.equal, 'notEqual': np.not_equal, 'less': np.less, 'lessEqual': np.less_equal, 'greater': np.greater,
    'greaterEqual': np.greater_equal, 'logicalAnd': np.logical_and, 'logicalOr': np.logical_or,
    'logicalXor': np.logical_xor, 'logaddexp': np.logaddexp, 'arctan2': np.arctan2, 'bitwiseAnd': np.bitwise_and,
    'bitwiseOr': np.bitwise_or, 'bitwiseXor': np.bitwise_xor, 'leftShift': np.left_shift, 'rightShift': np.right_shift}
EXACT = {'floor', 'ceil', 'trunc', 'round', 'negative', 'abs', 'sign', 'maximum', 'minimum', 'astype'}


def dec(s, dt):
    if dt == 'bool':
        return bool(int(s))
    if dt.startswith('int') or dt.startswith('uint'):
        return int(s)
    return float(s)


def arr(vals, dt):
    return np.array([dec(v, dt) for v in vals], dtype=NP[dt])


def tol(dt):
    return {'float16': 2e-3, 'float32': 2e-6, 'float64': 1e-13}.get(dt, 0)


def compare(kind, op, dt, want, got, err=None):
    bad = []
    for i, (w, g) in enumerate(zip(want, got)):
        w = dec(w, dt)
        if dt.startswith('float'):
            w, g = float(w), float(g)
            if math.isnan(w) or math.isnan(g):
                ok = math.isnan(w) and math.isnan(g)
            elif math.isinf(w) or math.isinf(g):
                ok = w == g
            else:
                t = 0 if op in EXACT or kind in ('reduce', 'matmul', 'cast') else tol(dt)
                slack = 1e-6 if (t and dt != 'float64') else 0
                ok = abs(w - g) <= t * abs(g) + slack + (err[i] if err else 0)
        else:
            ok = int(w) == int(g)
        if not ok:
            bad.append((i, w, g))
    return bad


def main():
    cases = json.load(sys.stdin)
    failures = 0
    for c in cases:
        kind, op, dt, od = c['kind'], c['op'], c['dtype'], c['outDtype']
        a = arr(c['a'], dt)
        if kind == 'cast':
            got = a.astype(NP[c['to']])
        elif kind == 'unary':
            x = a
            if od.startswith('float') and not dt.startswith('float'):
                x = a.astype(np.float32)  # kiln: float ops on integers and bool compute in float32
            if op in ('erf', 'erfinv', 'sigmoid'):
                got = UNARY[op](x.astype(np.float64)).astype(NP[od])
            elif op in ('abs', 'square') and dt == 'bool':
                got = a  # kiln: identity on bool (numpy's square gives int8)
            elif op == 'round' and dt == 'bool':
                got = a  # kiln: rounding is the identity on bool (numpy gives float16)
            else:
                got = UNARY[op](x)
        elif kind == 'binary':
            b = arr(c['b'], dt)
            x, y = a, b
            if od == 'float32' and not dt.startswith('float'):
                x, y = a.astype(np.float32), b.astype(np.float32)
            if dt == 'bool' and op in ('power', 'remainder', 'floorDivide'):
                x, y = a.astype(np.int8), b.astype(np.int8)
            got = BINARY[op](x, y)
        elif kind == 'reduce':
            x = a.reshape(6, 7)
            if op in ('sum', 'prod'):
                got = getattr(np, op)(x, axis=1, dtype=NP[od])
            elif op == 'mean':
                got = np.mean(x.astype(np.float64), axis=1)
            else:
                got = getattr(np, op)(x, axis=1)
        else:  # matmul
            b = arr(c['b'], dt)
            if dt.startswith('float'):
                got = a.reshape(3, 4).astype(np.float64) @ b.reshape(4, 5).astype(np.float64)
            else:
                got = np.matmul(a.reshape(3, 4), b.reshape(4, 5))
        got = np.asarray(got).astype(NP[od]).ravel().tolist()
        bad = compare(kind, op, od, c['out'], got, c.get('err'))
        if bad:
            failures += 1
            ins = [(c['a'][i], c['b'][i]) if 'b' in c else c['a'][i] for i, _, _ in bad[:5]]
            print(f"{kind} {op} {dt}{'->' + c['to'] if 'to' in c else ''}: {len(bad)} mismatches "
                  f"(reference, numpy) {[(w, g) for _, w, g in bad[:5]]} inputs {ins}")
    print(f'checked {len(cases)} cases, {failures} with mismatches')
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
