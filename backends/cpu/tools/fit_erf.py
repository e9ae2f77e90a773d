"""Coefficients of the piecewise erf in backends/cpu/kernels/elementwise_math.h (erf_ps).

[0, 4) is cut into 8 pieces of width 1/2; piece k >= 1 is a degree-7 polynomial in
t = |x| - (k/2 + 1/4), piece 0 is t + t * q(t) with t = |x| (full relative accuracy for small x).
Each is the Chebyshev interpolant of erf (erf(x)/x on piece 0) at 200 nodes, computed with
mpmath at 40 digits and rounded to float32. Prints the C++ table: row j = coefficient of t^j,
column k = piece.

Run: python3 backends/cpu/tools/fit_erf.py   (needs numpy and mpmath)
Checked exhaustively over all float32 inputs against double erf (backends/cpu/tools/check_erf.cc):
at most 1.09 ulp.
"""
import mpmath
import numpy as np
from numpy.polynomial import chebyshev as C
from numpy.polynomial import polynomial as Pn

mpmath.mp.dps = 40
DEG, PIECES, WIDTH, NODES = 7, 8, 0.5, 200


def cheb_nodes(n):
    return np.cos(np.pi * (np.arange(n) + 0.5) / n)


def monomials_in(ch, a, b):
    """Chebyshev coefficients in s (s = a + b y) -> monomial coefficients in y."""
    ms = C.cheb2poly(ch)
    out = np.zeros(len(ms))
    basis = np.array([1.0])
    for c in ms:
        out[:len(basis)] += c * basis
        basis = Pn.polymul(basis, [a, b])
    return out


def table():
    tab = np.zeros((DEG + 1, PIECES))
    s = cheb_nodes(NODES)
    # piece 0: erf(x)/x on [0, W] in s = 2x/W - 1, then t + t * (c1 - 1 + c2 t + ...)
    x = (s + 1) * WIDTH / 2
    y = np.array([float(mpmath.erf(mpmath.mpf(v)) / mpmath.mpf(v)) for v in x])
    m = monomials_in(C.chebfit(s, y, DEG - 1), -1.0, 2 / WIDTH)
    tab[1:, 0] = m[:DEG]
    tab[1, 0] -= 1.0
    for k in range(1, PIECES):
        centre = k * WIDTH + WIDTH / 2
        t = s * WIDTH / 2
        y = np.array([float(mpmath.erf(mpmath.mpf(centre) + mpmath.mpf(v))) for v in t])
        tab[:, k] = monomials_in(C.chebfit(s, y, DEG), 0.0, 2 / WIDTH)
    return tab.astype(np.float32)


def literal(v):
    t = f'{float(v):.9g}'  # 9 significant digits round-trip a float32
    return (t if ('.' in t or 'e' in t) else t + '.0') + 'f'


if __name__ == '__main__':
    for row in table():
        print('    {' + ', '.join(literal(v) for v in row) + '},')
